import type { ExecutorContext } from '@nx/devkit';
import type { DocsCheckOptions } from '../../checks/docs/options';
import { reportErrors } from '../shared/profile';

export type { DocsCheckOptions };

export default async function docsCheckExecutor(options: DocsCheckOptions, context: ExecutorContext) {
  return reportErrors('docs-check', async () => {
    const { runDocsCheck } = await import('../../checks/docs/run');
    const { projectTargets } = await import('../../checks/docs/graph');
    const project = context.projectName ? context.projectsConfigurations?.projects[context.projectName] : undefined;
    const docsDir = options.docsDir ?? project?.root;
    if (docsDir === undefined) throw new Error('No docs folder: set the "docsDir" option or run through nx run docs:docs-check.');
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
