import type { ExecutorContext } from '@nx/devkit';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatDoctor, runDoctor, type DoctorProfile } from '../../host/doctor';
import { loadProfile } from '../../profile/load';
import { reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

export interface DoctorOptions {
  warnFreeGiB?: number;
  errorFreeGiB?: number;
}

export default async function doctorExecutor(options: DoctorOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'doctor', async () => {
    useWorkspaceOf(context);
    const GiB = 1024 ** 3;
    const checks = await runDoctor(
      context.root,
      { warnFreeBytes: (options.warnFreeGiB ?? 20) * GiB, errorFreeBytes: (options.errorFreeGiB ?? 2) * GiB },
      profilesOf(context),
      buildImageMaxJobs(context),
    );
    process.stdout.write(formatDoctor(checks));
    const failed = checks.filter((c) => c.level === 'error');
    if (failed.length) console.error(`\n${failed.length} required part(s) missing: ${failed.map((c) => c.name).join(', ')}.`);
    return failed.length === 0;
  });
}

/** The workspace's profiles (projects with a profile.json), for the checks of their build-image targets. */
function profilesOf(context: ExecutorContext): DoctorProfile[] {
  return Object.values(context.projectsConfigurations?.projects ?? {}).flatMap((project) => {
    const file = join(project.root, 'profile.json');
    if (!existsSync(join(context.root, file))) return [];
    try {
      return [{ profile: loadProfile(join(context.root, file), file), dir: project.root }];
    } catch {
      return [];
    }
  });
}

/** The maxJobs option of each build-image target (nx.json `sharing`, targetDefaults, project.json). */
function buildImageMaxJobs(context: ExecutorContext): (number | undefined)[] {
  return Object.values(context.projectsConfigurations?.projects ?? {}).flatMap((project): (number | undefined)[] =>
    Object.values(project.targets ?? {})
      .filter((target) => target.executor?.endsWith(':build-image'))
      .map((target) => {
        const maxJobs = (target.options as { maxJobs?: unknown } | undefined)?.maxJobs;
        return typeof maxJobs === 'number' ? maxJobs : undefined;
      }),
  );
}
