import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { batchLogFile, inWorkspace } from '../../layout';
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

/** How one item of a batch ended: built (with what the batch executor reports), or failed. */
export type BatchOutcome<Built> = ({ ok: true } & Built) | { ok: false; error: Error };

/** What a batch executor does with its tasks; runBatchTasks does the rest (groups, each task's output, failures). */
export interface BatchSteps<Options extends NixBuildSettings, Item extends { key: string }, Built> {
  /** What the items are, for the progress line: "profile(s)". */
  what: string;
  /** The name of an item on the progress line. */
  nameOf(item: Item): string;
  /** One task's part of the group's build (key: the task id); throws when the task cannot take part, which fails that task alone. */
  prepare(taskId: string, options: Options, context: ExecutorContext, output: TaskOutput): Item;
  /** One build for the items of a group, with the options of its first task (the group agrees on them): an outcome per item key. */
  build(items: Item[], options: Options, logFile: string): Promise<ReadonlyMap<string, BatchOutcome<Built>>>;
  /** Reports a built item under its task; whether the task succeeded. */
  report(item: Item, built: Built, output: TaskOutput): boolean | Promise<boolean>;
}

/**
 * The tasks of a batch, group by group (groupTasks): each task prepares its item, the group's items build in
 * one `nix build`, each task gets its own output and status. A task that fails to prepare or build fails alone.
 */
export async function runBatchTasks<Options extends NixBuildSettings, Item extends { key: string }, Built>(
  taskGraph: TaskGraph,
  inputs: Record<string, Options>,
  context: ExecutorContext,
  steps: BatchSteps<Options, Item, Built>,
): Promise<BatchResults> {
  const results: BatchResults = {};
  for (const taskIds of groupTasks(inputs)) {
    const outputs = new Map(taskIds.map((id) => [id, new TaskOutput()]));
    const items: Item[] = [];
    for (const id of taskIds) {
      const output = outputs.get(id)!;
      try {
        items.push(steps.prepare(id, inputs[id], taskContext(context, taskGraph, id), output));
      } catch (e) {
        output.fail(taskGraph.tasks[id].target.target, e);
        results[id] = output.result(false);
      }
    }
    if (!items.length) continue;
    const target = taskGraph.tasks[items[0].key].target.target;
    process.stderr.write(`${target}: ${items.length} ${steps.what} in one nix build: ${items.map((item) => steps.nameOf(item)).join(', ')}\n`);
    const outcomes = await steps.build(items, inputs[items[0].key], inWorkspace(context.root, batchLogFile(target)));
    for (const item of items) {
      const output = outputs.get(item.key)!;
      const outcome = outcomes.get(item.key);
      if (!outcome?.ok) {
        output.fail(target, outcome?.error ?? new Error('no result'));
        results[item.key] = output.result(false);
      } else results[item.key] = output.result(await steps.report(item, outcome, output));
    }
  }
  return results;
}
