import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { describeError } from './profile';

/** What Nx expects back from a batch implementation: one result per task. */
export type BatchResults = Record<string, { success: boolean; terminalOutput: string }>;

/**
 * The results one by one, as Nx wants them to print each under its task (a plain record of results is
 * recorded but not printed).
 */
export async function* yieldResults(results: Promise<BatchResults>): AsyncGenerator<{ task: string; result: BatchResults[string] }> {
  for (const [task, result] of Object.entries(await results)) yield { task, result };
}

/** The executor context of one task of a batch, as Nx would pass it to the task's own executor. */
export function taskContext(context: ExecutorContext, taskGraph: TaskGraph, taskId: string): ExecutorContext {
  const { project, target, configuration } = taskGraph.tasks[taskId].target;
  return { ...context, projectName: project, targetName: target, configurationName: configuration };
}

/** The executor options (of build-image and vm-test) that reach `nix build`. */
export interface NixBuildSettings {
  offline?: boolean;
  extraArgs?: string[];
  verbose?: boolean;
  substituters?: string[];
  trustedPublicKeys?: string[];
  builders?: string;
  maxJobs?: number;
  systemFeatures?: string[];
}

const buildSettings = ({ offline, extraArgs, verbose, substituters, trustedPublicKeys, builders, maxJobs, systemFeatures }: NixBuildSettings) => ({
  offline,
  extraArgs,
  verbose,
  substituters,
  trustedPublicKeys,
  builders,
  maxJobs,
  systemFeatures,
});

/**
 * The tasks of a batch in groups whose options agree on everything that reaches `nix build` (one build per
 * group; a batch from `nx run-many` is normally one group).
 */
export function groupTasks(inputs: Record<string, NixBuildSettings>): string[][] {
  const groups = new Map<string, string[]>();
  for (const [taskId, options] of Object.entries(inputs)) {
    const key = JSON.stringify(buildSettings(options));
    groups.set(key, [...(groups.get(key) ?? []), taskId]);
  }
  return [...groups.values()];
}

/** The lines a task's result shows under it in Nx's output. */
export class TaskOutput {
  private readonly lines: string[] = [];
  log = (line: string) => this.lines.push(line);
  fail(name: string, e: unknown) {
    this.lines.push(`${name}: ${describeError(e, process.env.NX_VERBOSE_LOGGING === 'true')}`);
  }
  result(success: boolean) {
    return { success, terminalOutput: this.lines.length ? `${this.lines.join('\n')}\n` : '' };
  }
}
