import type { ExecutorContext } from '@nx/devkit';
import { profileOf, reportErrors } from '../shared/profile';

export interface StopOptions {
  instance?: string;
  graceSeconds?: number;
}

export default async function stopExecutor(options: StopOptions, context: ExecutorContext) {
  return reportErrors('stop', async () => {
    const { listInstances } = await import('../../qemu/instance');
    const { stopVm, DEFAULT_GRACE_SECONDS } = await import('../../qemu/vm');
    const profile = profileOf(context);
    const grace = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
    const all = listInstances(context.root, profile.name);
    const targets = options.instance ? all.filter((i) => i.instance === options.instance) : all.filter((i) => i.status !== 'stopped');
    if (options.instance && targets.length === 0)
      throw new Error(`${profile.name} has no instance "${options.instance}" (known: ${all.map((i) => i.instance).join(', ') || 'none'}).`);
    if (targets.length === 0) {
      console.log(`${profile.name}: no running instance.`);
      return true;
    }
    for (const info of targets) {
      if (info.status === 'stopped') {
        console.log(`${profile.name} "${info.instance}": already stopped.`);
        continue;
      }
      if (info.status === 'broken') console.log(`${profile.name} "${info.instance}" was broken (${info.reason}); removing its pidfile and socket.`);
      else console.log(`Stopping ${profile.name} "${info.instance}" (PID ${info.pid}): powerdown, up to ${grace} s...`);
      const result = await stopVm(context.root, profile.name, info.instance, { graceSeconds: grace, log: (l) => console.log(`  ${l}`) });
      if (result.how !== 'not-running')
        console.log(`${profile.name} "${info.instance}" stopped (${result.how}, ${(result.ms / 1000).toFixed(1)} s). Logs kept in ${info.paths.dir}`);
    }
    return true;
  });
}
