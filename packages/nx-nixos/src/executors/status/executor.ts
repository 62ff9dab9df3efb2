import type { ExecutorContext } from '@nx/devkit';
import { profileOf, reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

export interface StatusOptions {
  clean?: boolean;
  json?: boolean;
}

export default async function statusExecutor(options: StatusOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'status', async () => {
    const plugin = useWorkspaceOf(context);
    const { listInstances } = await import('../../qemu/instance');
    const { cleanInstance } = await import('../../qemu/stop');
    const { InstanceBusyError } = await import('../../qemu/lock');
    const { describeInstance, instanceJson } = await import('../../qemu/status');
    const profile = profileOf(context);
    const instances = listInstances(context.root, profile.name);
    if (options.json) console.log(JSON.stringify(instances.map(instanceJson), null, 2));
    else if (instances.length === 0) console.log(`${profile.name}: no instances. Start one: npx nx run ${profile.name}:${plugin.launchTargetName}`);
    else for (const info of instances) console.log(describeInstance(info).join('\n'));
    if (options.clean) {
      for (const { instance } of instances.filter((i) => i.status === 'broken')) {
        try {
          const info = await cleanInstance(context.root, profile.name, instance, `nx run ${context.projectName}:${context.targetName} --clean`);
          if (!options.json && info.status === 'broken') console.log(`Cleaned ${profile.name} "${instance}": pidfile and socket removed; disk and logs kept.`);
        } catch (e) {
          if (!(e instanceof InstanceBusyError)) throw e;
          console.warn(`warning: ${e.message}`);
        }
      }
    }
    return true;
  });
}
