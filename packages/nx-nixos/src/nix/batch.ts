import { mkdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { NixBuildError, nixBuild, type NixBuildRequest } from './build';
import { offlineArgs, runNix, stripAnsi } from './command';
import type { NixBuildMonitor } from './progress';
import { isValidStorePath } from './store';

/** One flake output of a batch, e.g. the image of one profile. */
export interface BatchItem {
  /** Names the item in the outcome (a task id). */
  key: string;
  /** Flake reference relative to the workspace root, e.g. ".". */
  flakeRef: string;
  /** Flake output attribute path, e.g. "packages.x86_64-linux.development". */
  attrPath: string;
  /** Absolute out-link (a GC root) for its output; none when unset. */
  outLink?: string;
}

export type BatchOutcome =
  | {
      ok: true;
      drvPath: string;
      outputs: Record<string, string>;
      /** Derivations of its closure that this batch built. */
      built: number;
    }
  | { ok: false; error: Error };

export type BatchBuildRequest = Omit<NixBuildRequest, 'installable' | 'installables' | 'outLink'> & {
  items: readonly BatchItem[];
};

export interface BatchBuildResult {
  outcomes: Map<string, BatchOutcome>;
  /** What Nix reported during the build; undefined when nothing was built (every evaluation failed). */
  monitor?: NixBuildMonitor;
}

const installableOf = (item: BatchItem) => `${item.flakeRef}#${item.attrPath}`;

interface Evaluated {
  drvPath: string;
  outputs: Record<string, string>;
}

/** A Nix list of attribute paths, e.g. [ [ "x86_64-linux" "a" ] ]. "${" stays literal. */
const nixPaths = (paths: string[][]) => `[ ${paths.map((p) => `[ ${p.map((k) => JSON.stringify(k).replace(/\$\{/g, '\\${')).join(' ')} ]`).join(' ')} ]`;

/** Selects each path in the flake output and returns its derivation and output paths. */
const APPLY = (paths: string[][]) =>
  `top: map (path: let d = builtins.foldl' (v: k: v.\${k}) top path; in { drvPath = d.drvPath; outputs = builtins.listToAttrs (map (o: { name = o; value = d.\${o}.outPath; }) (d.outputs or [ "out" ])); }) ${nixPaths(paths)}`;

/** Nix's error, without the warnings before it. */
function evalError(stderr: readonly string[]): string {
  const lines = stderr.map(stripAnsi);
  const start = lines.findIndex((l) => l.startsWith('error:'));
  return (start >= 0 ? lines.slice(start) : lines.slice(-10)).join('\n').trim() || 'no message';
}

/**
 * Evaluates the derivations of items that share a flake and a top-level output (packages, checks) in one
 * `nix eval`, so the flake and everything its outputs import are evaluated once.
 */
async function evaluateGroup(cwd: string, items: readonly BatchItem[], offline: boolean | undefined): Promise<Evaluated[]> {
  const [top] = items[0].attrPath.split('.');
  const paths = items.map((i) => i.attrPath.split('.').slice(1));
  const result = await runNix('nix', ['eval', '--json', `${items[0].flakeRef}#${top}`, '--apply', APPLY(paths), ...(offline ? offlineArgs() : [])], { cwd });
  if (result.code !== 0) throw new Error(evalError(result.stderrTail));
  return JSON.parse(result.stdout) as Evaluated[];
}

/** Each item's derivation; an item whose evaluation fails gets its own error (one `nix eval` per group, per item only after a failure). */
async function evaluate(request: BatchBuildRequest): Promise<Map<string, Evaluated | Error>> {
  const groups = new Map<string, BatchItem[]>();
  for (const item of request.items) {
    const key = `${item.flakeRef}#${item.attrPath.split('.')[0]}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  const evaluated = new Map<string, Evaluated | Error>();
  for (const items of groups.values()) {
    try {
      const values = await evaluateGroup(request.cwd, items, request.offline);
      items.forEach((item, i) => evaluated.set(item.key, values[i]));
    } catch (groupError) {
      if (items.length === 1) {
        evaluated.set(items[0].key, new Error(`Evaluating ${installableOf(items[0])} failed:\n${(groupError as Error).message}`));
        continue;
      }
      // Which of them fails: each on its own.
      for (const item of items) {
        try {
          evaluated.set(item.key, (await evaluateGroup(request.cwd, [item], request.offline))[0]);
        } catch (e) {
          evaluated.set(item.key, new Error(`Evaluating ${installableOf(item)} failed:\n${(e as Error).message}`));
        }
      }
    }
  }
  return evaluated;
}

/** The derivations in the closure of a derivation (itself, its inputs, theirs, ...). */
async function closureDerivations(drvPath: string): Promise<Set<string>> {
  const result = await runNix('nix-store', ['--query', '--requisites', drvPath]);
  return new Set(result.code === 0 ? result.stdout.split('\n').filter((p) => p.endsWith('.drv')) : [drvPath]);
}

async function addRoot(storePath: string, link: string): Promise<void> {
  mkdirSync(dirname(link), { recursive: true });
  const result = await runNix('nix-store', ['--realise', storePath, '--add-root', link]);
  if (result.code !== 0) throw new Error(`Could not make ${link} a GC root of ${storePath}: ${evalError(result.stderrTail)}`);
}

/** The failure of one item of a failed batch: the failed derivation(s) of its closure with their log tails. */
function itemFailure(request: BatchBuildRequest, item: BatchItem, closure: ReadonlySet<string>, monitor: NixBuildMonitor): NixBuildError {
  const failed = monitor.failedDerivations().filter((d) => closure.has(d));
  const lines = [`nix build ${installableOf(item)} failed.`];
  for (const drv of failed) {
    const tail = monitor.logTail(drv).slice(-25);
    lines.push(`Failing derivation: ${drv}`);
    lines.push(tail.length ? `Last ${tail.length} lines of its log:` : 'Its build printed nothing.');
    lines.push(...tail.map((l) => `  ${l}`));
  }
  if (!failed.length) lines.push(...[...new Set(monitor.errors())].map((e) => `  ${e}`));
  if (request.logFile) lines.push(`Full log of the batch: ${relative(request.cwd, request.logFile) || request.logFile}`);
  return new NixBuildError(lines.join('\n'), failed[0], failed[0] ? monitor.logTail(failed[0]).slice(-25) : [], undefined, monitor);
}

/**
 * Builds many flake outputs with one evaluation and one `nix build --keep-going`, so Nix schedules all their
 * derivations together. Every item gets its own outcome: its outputs and out-link, or its own error (an
 * evaluation error, or the failed derivations of its closure with their log tails). A host problem (no
 * network, no build users, Nix killed) fails every item with the same error.
 */
export async function nixBuildBatch(request: BatchBuildRequest): Promise<BatchBuildResult> {
  const outcomes = new Map<string, BatchOutcome>();
  const evaluated = await evaluate(request);
  const buildable = request.items.filter((item) => !(evaluated.get(item.key) instanceof Error));
  for (const item of request.items) {
    const value = evaluated.get(item.key);
    if (value instanceof Error) outcomes.set(item.key, { ok: false, error: value });
  }
  if (!buildable.length) return { outcomes };
  const derivation = (item: BatchItem) => evaluated.get(item.key) as Evaluated;
  const drvPaths = [...new Set(buildable.map((item) => derivation(item).drvPath))];
  let monitor: NixBuildMonitor | undefined;
  let failure: NixBuildError | undefined;
  try {
    const build = await nixBuild({
      cwd: request.cwd,
      installable: buildable.map(installableOf).join(' '),
      installables: drvPaths,
      offline: request.offline,
      extraArgs: request.extraArgs,
      maxJobs: request.maxJobs,
      logFile: request.logFile,
      verbose: request.verbose,
      progress: request.progress,
    });
    monitor = build.monitor;
  } catch (e) {
    if (!(e instanceof NixBuildError) || e.diagnosis || !e.monitor) {
      for (const item of buildable) outcomes.set(item.key, { ok: false, error: e as Error });
      return { outcomes };
    }
    failure = e;
    monitor = e.monitor;
  }
  const built = new Set(monitor.finished.map((b) => b.drvPath));
  for (const item of buildable) {
    const { drvPath, outputs } = derivation(item);
    const closure = await closureDerivations(drvPath);
    const present = failure ? (await Promise.all(Object.values(outputs).map(isValidStorePath))).every(Boolean) : true;
    if (!present) {
      outcomes.set(item.key, { ok: false, error: itemFailure(request, item, closure, monitor) });
      continue;
    }
    try {
      if (item.outLink) await addRoot(outputs.out ?? Object.values(outputs)[0], item.outLink);
      outcomes.set(item.key, { ok: true, drvPath, outputs, built: [...closure].filter((d) => built.has(d)).length });
    } catch (e) {
      outcomes.set(item.key, { ok: false, error: e as Error });
    }
  }
  return { outcomes, monitor };
}
