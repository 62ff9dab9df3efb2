import type { ExecutorContext } from '@nx/devkit';
import type { HygieneOptionsInput } from '../../checks/hygiene/options';
import { projectRootOf, reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

/**
 * repo:hygiene (scope "repo": the whole working tree, untracked and ignored files included) and
 * <profile>:hygiene (scope "profile": the profile folder and the Nix files it reads).
 */
export default async function hygieneExecutor(options: HygieneOptionsInput, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'hygiene', async () => {
    useWorkspaceOf(context);
    const { runHygiene } = await import('../../checks/hygiene/run');
    const input = options.scope === 'profile' && !options.profileRoot ? { ...options, profileRoot: projectRootOf(context) } : options;
    const run = runHygiene(context.root, input);
    process.stdout.write(run.stdout);
    for (const message of run.messages) console.error(message);
    return run.exitCode === 0;
  });
}
