import type { ExecutorContext } from '@nx/devkit';
import { profileOf, reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

export interface StopOptions {
  instance?: string;
  graceSeconds?: number;
}

export default async function stopExecutor(options: StopOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'stop', async () => {
    useWorkspaceOf(context);
    const { listInstances } = await import('../../qemu/instance');
    const { stopVm, DEFAULT_GRACE_SECONDS } = await import('../../qemu/stop');
    const profile = profileOf(context);
    const all = listInstances(context.root, profile.name);
    if (options.instance && !all.some((i) => i.instance === options.instance))
      throw new Error(`${profile.name} has no instance "${options.instance}" (known: ${all.map((i) => i.instance).join(', ') || 'none'}).`);
    // Every instance goes through stopVm, stopped ones too: it waits for a launcher that is starting one.
    const names = options.instance ? [options.instance] : all.map((i) => i.instance);
    let acted = false;
    for (const instance of names) {
      const result = await stopVm(context.root, profile.name, instance, {
        graceSeconds: options.graceSeconds ?? DEFAULT_GRACE_SECONDS,
        log: (l) => console.log(l.startsWith('Stopping ') ? l : `  ${l}`),
        purpose: `nx run ${context.projectName}:${context.targetName}`,
      });
      const { before } = result;
      if (result.how !== 'not-running') {
        acted = true;
        console.log(`${profile.name} "${instance}" stopped (${result.how}, ${(result.ms / 1000).toFixed(1)} s). Logs kept in ${before.paths.dir}`);
      } else if (before.status === 'broken') {
        acted = true;
        console.log(`${profile.name} "${instance}" was broken (${before.reason}); removed its pidfile and socket.`);
      } else if (options.instance) console.log(`${profile.name} "${instance}": already stopped.`);
    }
    if (!acted && !options.instance) console.log(`${profile.name}: no running instance.`);
    return true;
  });
}
