import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, relative } from 'node:path';
import { offlineArgs, runNix } from './command';
import { NixBuildMonitor } from './progress';
import { formatBytes, formatDuration, ProgressReporter, type ProgressOutput } from './progress-render';
import { probeNix } from './version';

export interface NixBuildRequest {
  /** Folder Nix runs in (the workspace root); also the base for relative paths in messages. */
  cwd: string;
  /** e.g. ".#packages.x86_64-linux.development" or a store path. */
  installable: string;
  /** Absolute out-link path (a GC root); without it `--no-link`. */
  outLink?: string;
  /** No substituters: nothing is fetched, nothing waits on the network. */
  offline?: boolean;
  /** Further arguments for `nix build`, e.g. ["--max-jobs", "4"]. */
  extraArgs?: readonly string[];
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
  ) {
    super(message);
    this.name = 'NixBuildError';
  }
}

const REMOTE_BUILDER_ERROR = /cannot build on '|unable to start any build|Failed to find a machine for remote build/;
const NETWORK_ERROR = /unable to download|Could not resolve host|Couldn't resolve host|unable to connect|Connection refused|Network is unreachable/i;

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

/** Runs `nix build --json --log-format internal-json` with live progress, a full log file and a precise failure report. */
export async function nixBuild(request: NixBuildRequest): Promise<NixBuildResult> {
  await probeNix();
  const log = request.logFile ? new BuildLog(request.logFile) : undefined;
  let reporter: ProgressReporter | undefined;
  const monitor = new NixBuildMonitor({
    onLogLine: (name, line) => {
      log?.write(`${name}> ${line}\n`);
      if (request.verbose) reporter?.print(`${name}> ${line}`);
    },
    onBuildStarted: (build) => log?.write(`building ${build.drvPath}${build.machine ? ` on ${build.machine}` : ''}\n`),
    onMessage: (level, text) => {
      log?.write(`${text}\n`);
      if (level <= 1 && !/Git tree '.*' is dirty/.test(text)) reporter?.print(text);
    },
  });
  if (request.progress) {
    reporter = new ProgressReporter(monitor, request.progress);
    reporter.start();
  }
  const args = [
    'build',
    request.installable,
    '--json',
    '--log-format',
    'internal-json',
    ...(request.outLink ? ['--out-link', request.outLink] : ['--no-link']),
    ...(request.offline ? offlineArgs() : []),
    ...(request.extraArgs ?? []),
  ];
  if (request.outLink) mkdirSync(dirname(request.outLink), { recursive: true });
  try {
    const result = await runNix('nix', args, { cwd: request.cwd, onStderrLine: (line) => monitor.ingest(line) });
    reporter?.stop();
    if (result.code !== 0) throw buildError(request, monitor);
    const parsed = JSON.parse(result.stdout) as { drvPath?: string; outputs?: Record<string, string>; path?: string }[];
    // Nix 2.8 reports a store-path installable as {"path": ...}, without drvPath and outputs.
    if (!parsed[0]?.outputs && parsed[0]?.path) return { drvPath: '', outputs: { out: parsed[0].path }, monitor };
    if (!parsed[0]?.outputs || !parsed[0].drvPath) throw new Error(`nix build printed no outputs for ${request.installable}: ${result.stdout}`);
    return { drvPath: parsed[0].drvPath, outputs: parsed[0].outputs, monitor };
  } finally {
    reporter?.stop();
    await log?.close();
  }
}

function buildError(request: NixBuildRequest, monitor: NixBuildMonitor): NixBuildError {
  const failed = monitor.failedDerivation();
  const tail = failed ? monitor.logTail(failed).slice(-25) : [];
  const lines = [`nix build ${request.installable} failed.`];
  if (failed) {
    lines.push(`Failing derivation: ${failed}`);
    lines.push(tail.length ? `Last ${tail.length} lines of its log:` : 'Its build printed nothing.');
    lines.push(...tail.map((l) => `  ${l}`));
  } else {
    lines.push(...monitor.errors().map((e) => `  ${e}`));
  }
  // Why a substitute was refused or a cache skipped comes only as a warning.
  const cacheWarnings = monitor.messages.filter((m) => m.level === 1 && /substitute|binary cache|trusted-public-keys|unable to download/i.test(m.text));
  lines.push(...cacheWarnings.map((m) => `  ${m.text}`));
  const errors = monitor.errors().join('\n');
  if (REMOTE_BUILDER_ERROR.test(errors)) {
    // ssh's own reason (refused, denied, unknown host key) is a plain stderr line, not a Nix message.
    lines.push(...monitor.messages.filter((m) => m.level >= 3 && /^ssh: |Permission denied|Host key verification failed/i.test(m.text)).map((m) => `  ${m.text}`));
    lines.push(
      'A remote builder could not be used. Check that `nix store ping --store <builder URI>` works with the same NIX_SSHOPTS, that the builder lists this system and the required features, or raise maxJobs so that builds can run locally.',
    );
  }
  if (NETWORK_ERROR.test(errors)) {
    lines.push(
      existsSync(`${request.cwd}/flake.lock`)
        ? 'Nix needed the network (to fetch a flake input or a substitute) and could not reach it. Retry with network access, or pass --offline to build only from what is in the local store.'
        : 'flake.lock does not exist yet and creating it needs the network: run `nix flake lock` once on a machine with network access and commit flake.lock.',
    );
  }
  if (request.logFile) lines.push(`Full log: ${relative(request.cwd, request.logFile) || request.logFile}`);
  return new NixBuildError(lines.join('\n'), failed, tail);
}

/** "built 2, fetched 3 in 1m02s" */
export function buildSummary(monitor: NixBuildMonitor, extra: Record<string, number> = {}): string {
  const remote = [...new Set(monitor.finished.flatMap((b) => (b.machine ? [b.machine] : [])))];
  const parts = [`built ${monitor.finished.length}${remote.length ? ` (on ${remote.join(', ')})` : ''}`, `substituted ${monitor.substituted.size}`];
  for (const [label, bytes] of Object.entries(extra)) parts.push(`${label} ${formatBytes(bytes)}`);
  return `${parts.join(', ')} in ${formatDuration(monitor.elapsedSeconds())}`;
}
