import type { ProjectGraph } from '@nx/devkit';
import { resolve } from 'node:path';
import type { ProjectTargets } from './types';

/** Project -> target names, from an Nx project graph (ExecutorContext.projectGraph or createProjectGraphAsync). */
export function projectTargets(graph: Pick<ProjectGraph, 'nodes'>): ProjectTargets {
  const out: Record<string, string[]> = {};
  for (const [name, node] of Object.entries(graph.nodes)) out[name] = Object.keys(node.data.targets ?? {}).sort();
  return out;
}

/**
 * The project graph of the Nx workspace at `root`, through the public devkit. Nx decides its workspace
 * root when first loaded, from the working directory; a different root is an error, not a wrong graph.
 */
export async function loadProjectTargets(root: string): Promise<ProjectTargets> {
  const previous = process.cwd();
  process.chdir(root);
  try {
    const devkit = await import('@nx/devkit');
    if (resolve(devkit.workspaceRoot) !== resolve(root))
      throw new Error(`the Nx workspace loaded in this process is ${devkit.workspaceRoot}, not ${root}; run from ${root} or pass --no-graph`);
    return projectTargets(await devkit.createProjectGraphAsync({ exitOnError: false }));
  } finally {
    process.chdir(previous);
  }
}
