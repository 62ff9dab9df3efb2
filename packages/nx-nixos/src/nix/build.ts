import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { offlineArgs, runNix } from './command';
import { nixConfig } from './config';
import { diagnoseNixFailure, formatDiagnosis, networkFailure, OFFLINE_WAYS_OUT, type NixDiagnosis } from './diagnose';
import { describeInput, inputForUrl, readLockedInputs } from './flake-lock';
import { NixBuildMonitor } from './progress';
import { formatBytes, formatDuration, ProgressReporter, type ProgressOutput } from './progress-render';
import { buildParallelism } from './parallelism';
import { probeNix } from './version';

export interface NixBuildRequest {
  /** Folder Nix runs in (the workspace root); also the base for relative paths in messages. */
  cwd: string;
  /** e.g. ".#packages.x86_64-linux.development" or a store path; what messages name. */
  installable: string;
  /** Build these instead of `installable`, in one `nix build --keep-going` (a batch); the result describes the first. */
  installables?: readonly string[];
  /** Absolute out-link path (a GC root); without it `--no-link`. */
  outLink?: string;
  /** No substituters: nothing is fetched, nothing waits on the network. */
  offline?: boolean;
  /** Further arguments for `nix build`, e.g. ["--max-jobs", "4"]. */
  extraArgs?: readonly string[];
  /** The maxJobs option: local build jobs, 0 for none (parallelism.ts weighs it against the Nix configuration). */
  maxJobs?: number;
  /** Absolute path of the full log file (build logs and Nix messages). */
  logFile?: string;
  /** Stream every build log line to `progress` as well. */
  verbose?: boolean;
  /** Where progress is shown; nothing is shown without it. */
  progress?: ProgressOutput;
}

export interface NixBuildResult {
  drvPath: string;
  outputs: Record<string, string>;
  monitor: NixBuildMonitor;
}

export class NixBuildError extends Error {
  constructor(
    message: string,
    readonly failedDerivation: string | undefined,
    readonly logTail: string[],
    /** A host problem (no build users, no network, no KVM, ...) that any Nix call would hit. */
    readonly diagnosis?: NixDiagnosis,
    /** What Nix reported while it ran (failed builds and their log tails), when it ran. */
    readonly monitor?: NixBuildMonitor,
  ) {
    super(message);
    this.name = 'NixBuildError';
  }
}

const REMOTE_BUILDER_ERROR = /cannot build on '|unable to start any build|Failed to find a machine for remote build/;

/**
 * The full build log, written in blocks of up to 64 KiB and at most 200 ms late: one write per line
 * cost more CPU than parsing the line, on builds that print a lot.
 */
class BuildLog {
  private readonly stream: WriteStream;
  private pending = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: 'w' });
  }

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= 64 * 1024) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 200).unref();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending) this.stream.write(this.pending);
    this.pending = '';
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

/** A download that failed for a network reason: a binary cache's URL, or something else Nix fetched (a flake input). */
interface NetworkFailure {
  url: string;
  reason: string;
  /** The binary cache the URL belongs to, when it is one. */
  cache?: string;
}

const CACHE_URL = /^(.*?)\/(?:nix-cache-info|[0-9a-z]{32}\.narinfo|nar\/[^/]+|log\/[^/]+)$/;

function classifyDownload(text: string): NetworkFailure | undefined {
  const failure = networkFailure(text);
  const cache = failure && CACHE_URL.exec(failure.url)?.[1];
  return failure && { ...failure, ...(cache ? { cache } : {}) };
}

const sameCache = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** Nix's messages are shown once each: "warning: x" and "error: x" of the same x count as one. */
const messageKey = (text: string) => text.replace(/^(?:(?:warning|error):\s*)+/, '').trim();

/**
 * Runs `nix build --json --log-format internal-json` with live progress, a full log file and a precise failure
 * report. A binary cache that cannot be reached is dropped at its first failed download (Nix would retry it
 * for seconds) and the build goes on without it; a flake input that cannot be downloaded stops the build at
 * once with the input it was.
 */
export async function nixBuild(request: NixBuildRequest): Promise<NixBuildResult> {
  await probeNix();
  const log = request.logFile ? new BuildLog(request.logFile) : undefined;
  const shown = new Set<string>();
  const unreachable: string[] = [];
  if (request.outLink) mkdirSync(dirname(request.outLink), { recursive: true });
  try {
    for (;;) {
      const attempt = await buildAttempt(request, log, shown, unreachable);
      if (attempt.kind === 'done') return attempt.result;
      const { failure } = attempt;
      if (failure.cache && !unreachable.some((c) => sameCache(c, failure.cache!))) {
        unreachable.push(failure.cache);
        const note = `no network: ${failure.cache} (${failure.reason}); building without that binary cache.`;
        log?.write(`${note}\n`);
        if (request.progress) request.progress.write(`${note}\n`);
        continue;
      }
      throw noNetworkError(request, failure);
    }
  } finally {
    await log?.close();
  }
}

type Attempt = { kind: 'done'; result: NixBuildResult } | { kind: 'network'; failure: NetworkFailure };

async function buildAttempt(request: NixBuildRequest, log: BuildLog | undefined, shown: Set<string>, unreachable: readonly string[]): Promise<Attempt> {
  let reporter: ProgressReporter | undefined;
  const abort = new AbortController();
  let network: NetworkFailure | undefined;
  const monitor = new NixBuildMonitor({
    onLogLine: (name, line) => {
      log?.write(`${name}> ${line}\n`);
      if (request.verbose) reporter?.print(`${name}> ${line}`);
    },
    onBuildStarted: (build) => log?.write(`building ${build.drvPath}${build.machine ? ` on ${build.machine}` : ''}\n`),
    onMessage: (level, text) => {
      log?.write(`${text}\n`);
      const failure = level <= 1 ? classifyDownload(text) : undefined;
      if (failure && !network && !request.offline) {
        network = failure;
        abort.abort();
        return;
      }
      // Errors come once, in the failure report; a host problem comes once, with its fix.
      if (!reporter || level !== 1 || /Git tree '.*' is dirty/.test(text) || diagnoseNixFailure([text])) return;
      const key = messageKey(text);
      if (shown.has(key)) return;
      shown.add(key);
      reporter.print(text);
    },
  });
  if (request.progress) {
    reporter = new ProgressReporter(monitor, request.progress);
    reporter.start();
  }
  const args = [
    'build',
    ...(request.installables ?? [request.installable]),
    ...(request.installables ? ['--keep-going'] : []),
    '--json',
    '--log-format',
    'internal-json',
    ...(request.outLink ? ['--out-link', request.outLink] : ['--no-link']),
    ...(request.offline ? offlineArgs() : []),
    ...buildParallelism({ maxJobs: request.maxJobs, extraArgs: request.extraArgs }).args,
    ...(request.extraArgs ?? []),
    ...(unreachable.length ? ['--option', 'substituters', (await substitutersWithout(request, unreachable)).join(' ')] : []),
  ];
  try {
    const result = await runNix('nix', args, { cwd: request.cwd, onStderrLine: (line) => monitor.ingest(line), abort: abort.signal });
    reporter?.stop();
    if (network) return { kind: 'network', failure: network };
    if (result.signal) throw killedError(request, result.signal);
    if (result.code !== 0) {
      const offlineFailure = monitor.messages.map((m) => classifyDownload(m.text)).find((f) => f && !f.cache);
      throw offlineFailure ? noNetworkError(request, offlineFailure) : buildError(request, monitor, shown);
    }
    const parsed = JSON.parse(result.stdout) as { drvPath?: string; outputs?: Record<string, string>; path?: string }[];
    // Nix 2.8 reports a store-path installable as {"path": ...}, without drvPath and outputs.
    if (!parsed[0]?.outputs && parsed[0]?.path) return { kind: 'done', result: { drvPath: '', outputs: { out: parsed[0].path }, monitor } };
    if (!parsed[0]?.outputs || !parsed[0].drvPath) throw new Error(`nix build printed no outputs for ${request.installable}: ${result.stdout}`);
    return { kind: 'done', result: { drvPath: parsed[0].drvPath, outputs: parsed[0].outputs, monitor } };
  } finally {
    reporter?.stop();
  }
}

/** The substituters Nix would use with the request's options, less the unreachable ones. */
async function substitutersWithout(request: NixBuildRequest, unreachable: readonly string[]): Promise<string[]> {
  const value = (await nixConfig(request.extraArgs, request.cwd)).substituters;
  const all = Array.isArray(value) ? value.map(String) : [];
  return all.filter((s) => !unreachable.some((u) => sameCache(u, s)));
}

/** "no network: could not fetch nixpkgs (NixOS/nixpkgs at <rev>, pinned in flake.lock) from <url> (<reason>); …" */
function noNetworkError(request: NixBuildRequest, failure: NetworkFailure): NixBuildError {
  const inputs = safeLockedInputs(request.cwd);
  const input = inputs && inputForUrl(inputs, failure.url);
  const what = input ? `could not fetch ${describeInput(input)} from ${failure.url}` : failure.url;
  const problem = `no network: ${what} (${failure.reason})`;
  const fix = !existsSync(join(request.cwd, 'flake.lock'))
    ? 'flake.lock does not exist yet and creating it needs the network: run `nix flake lock` once on a machine with network access and commit flake.lock'
    : request.offline
      ? 'with --offline everything must already be in the local store, and this is not: build once with network access, or use a binary cache you can reach'
      : OFFLINE_WAYS_OUT;
  return new NixBuildError(
    `nix build ${request.installable} failed.\n${problem}; ${fix}.${request.logFile ? `\nFull log: ${relative(request.cwd, request.logFile) || request.logFile}` : ''}`,
    undefined,
    [],
    { kind: 'no-network', problem, fix },
  );
}

function safeLockedInputs(cwd: string) {
  try {
    return readLockedInputs(cwd);
  } catch {
    return undefined;
  }
}

const OOM_HINT = 'most often the kernel\'s out-of-memory killer (see `journalctl -k` or `dmesg`; lower max-jobs or cores, or give the machine more memory)';

/** Nix itself was stopped by a signal from outside: not a build failure, and nothing was recorded. */
function killedError(request: NixBuildRequest, signal: NodeJS.Signals): NixBuildError {
  const cause = signal === 'SIGKILL' ? `, ${OOM_HINT}` : '';
  const lines = [
    `nix build ${request.installable} did not finish: the nix process was killed by ${signal}${cause}.`,
    'This is not a failure of the build itself; nothing was recorded. Run the target again.',
  ];
  if (request.logFile) lines.push(`Full log: ${relative(request.cwd, request.logFile) || request.logFile}`);
  return new NixBuildError(lines.join('\n'), undefined, []);
}

/** Nix's "builder for '…' failed due to signal 9 (Killed)": the builder was killed, its commands did not fail. */
const BUILDER_KILLED = /failed due to signal (\d+)/;

function buildError(request: NixBuildRequest, monitor: NixBuildMonitor, shown: ReadonlySet<string>): NixBuildError {
  const failed = monitor.failedDerivation();
  const tail = failed ? monitor.logTail(failed).slice(-25) : [];
  const lines = [`nix build ${request.installable} failed.`];
  const diagnosis = diagnoseNixFailure(monitor.messages.map((m) => m.text));
  if (failed) {
    lines.push(`Failing derivation: ${failed}`);
    lines.push(tail.length ? `Last ${tail.length} lines of its log:` : 'Its build printed nothing.');
    lines.push(...tail.map((l) => `  ${l}`));
  } else {
    lines.push(...[...new Set(monitor.errors().map(messageKey))].map((e) => `  ${e}`));
  }
  // Why a substitute was refused or a cache skipped comes only as a warning (shown live already when there was progress).
  const cacheWarnings = monitor.messages.filter((m) => m.level === 1 && /substitute|binary cache|trusted-public-keys|unable to download/i.test(m.text) && !shown.has(messageKey(m.text)));
  lines.push(...[...new Set(cacheWarnings.map((m) => `  ${m.text}`))]);
  const errors = monitor.errors().join('\n');
  if (REMOTE_BUILDER_ERROR.test(errors)) {
    // ssh's own reason (refused, denied, unknown host key) is a plain stderr line, not a Nix message.
    lines.push(...monitor.messages.filter((m) => m.level >= 3 && /^ssh: |Permission denied|Host key verification failed/i.test(m.text)).map((m) => `  ${m.text}`));
    lines.push(
      'A remote builder could not be used. Check that `nix store ping --store <builder URI>` works with the same NIX_SSHOPTS, that the builder lists this system and the required features, or raise maxJobs so that builds can run locally.',
    );
  }
  const killed = BUILDER_KILLED.exec(errors)?.[1];
  if (killed) {
    lines.push(
      `The builder was killed by signal ${killed}, not stopped by a failing command${killed === '9' ? `: ${OOM_HINT}` : ''}. Run the target again once the cause is gone.`,
    );
  }
  if (diagnosis) lines.push(formatDiagnosis(diagnosis));
  if (request.logFile) lines.push(`Full log: ${relative(request.cwd, request.logFile) || request.logFile}`);
  return new NixBuildError(lines.join('\n'), failed, tail, diagnosis, monitor);
}

/** "built 2, fetched 3 in 1m02s" */
export function buildSummary(monitor: NixBuildMonitor, extra: Record<string, number> = {}): string {
  const remote = [...new Set(monitor.finished.flatMap((b) => (b.machine ? [b.machine] : [])))];
  const parts = [`built ${monitor.finished.length}${remote.length ? ` (on ${remote.join(', ')})` : ''}`, `substituted ${monitor.substituted.size}`];
  for (const [label, bytes] of Object.entries(extra)) parts.push(`${label} ${formatBytes(bytes)}`);
  return `${parts.join(', ')} in ${formatDuration(monitor.elapsedSeconds())}`;
}
