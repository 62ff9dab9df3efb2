import type { ExecutorContext } from '@nx/devkit';
import type { DocsCheckOptions } from '../../checks/docs/options';
import { reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

export type { DocsCheckOptions };

export default async function docsCheckExecutor(options: DocsCheckOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'docs-check', async () => {
    const plugin = useWorkspaceOf(context);
    const { runDocsCheck } = await import('../../checks/docs/run');
    const { projectTargets } = await import('../../checks/docs/graph');
    const project = context.projectName ? context.projectsConfigurations?.projects[context.projectName] : undefined;
    const docsDir = options.docsDir ?? project?.root;
    if (docsDir === undefined) throw new Error(`No docs folder: set the "docsDir" option or run it as a target of the documentation project (plugin options docsDir, docsProjectName: ${plugin.docsDir}, ${String(plugin.docsProjectName)}).`);
    const { graph: useGraph = true, ...rest } = options;
    const run = await runDocsCheck({
      ...rest,
      root: context.root,
      docsDir,
      graph: useGraph && context.projectGraph ? projectTargets(context.projectGraph) : undefined,
    });
    process.stdout.write(run.report);
    for (const message of run.messages) console.error(message);
    return run.exitCode === 0;
  });
}
