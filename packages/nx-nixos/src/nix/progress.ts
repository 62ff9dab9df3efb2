import { stripAnsi } from './command';

/** Activity and result type numbers of Nix's `--log-format internal-json` (stable since 2.3). */
export const ActivityType = {
  CopyPath: 100,
  FileTransfer: 101,
  Realise: 102,
  CopyPaths: 103,
  Builds: 104,
  Build: 105,
  Substitute: 108,
} as const;

export const ResultType = {
  BuildLogLine: 101,
  SetPhase: 104,
  Progress: 105,
  SetExpected: 106,
  PostBuildLogLine: 107,
} as const;

interface RawEvent {
  action?: string;
  id?: number;
  type?: number;
  level?: number;
  text?: string;
  msg?: string;
  fields?: unknown[];
}

export interface RunningBuild {
  drvPath: string;
  name: string;
  /** The remote builder it runs on; absent for the local machine. */
  machine?: string;
  startedAt: number;
  phase?: string;
}

export interface FinishedBuild {
  drvPath: string;
  name: string;
  machine?: string;
  seconds: number;
}

const LOG_TAIL = 40;
const OUTERMOST_TYPES = new Set<number>([ActivityType.Realise, ActivityType.Builds, ActivityType.CopyPaths]);

/** `/nix/store/<hash>-name.drv` -> `name`. */
export function derivationName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1).replace(/\.drv$/, '');
  return base.replace(/^[0-9a-z]{32}-/, '');
}

/**
 * Folds a `nix build --log-format internal-json` stderr stream into progress state. Tolerant: unknown
 * actions, activity types, result types and non-JSON lines never throw.
 */
const numbers = (fields: unknown[]) => fields.map((f) => (typeof f === 'number' ? f : 0));

export class NixBuildMonitor {
  readonly startedAt: number;
  builds = { done: 0, expected: 0, running: 0, failed: 0 };
  substitutions = { done: 0, expected: 0 };
  downloadedBytes = 0;
  expectedDownloadBytes = 0;
  readonly running = new Map<number, RunningBuild>();
  readonly finished: FinishedBuild[] = [];
  readonly substituted = new Set<string>();
  /** Error and warning messages, without colours. */
  readonly messages: { level: number; text: string }[] = [];
  private readonly logTails = new Map<string, string[]>();
  private readonly transfers = new Map<number, number>();
  private readonly activities = new Map<number, { type: number; fields: unknown[] }>();
  /**
   * The outermost live Realise/Builds/CopyPaths activity of each type. A remote builder's daemon forwards its
   * own set of them (and a second Build activity for the same derivation) into the stream; they are nested.
   */
  private readonly outermost = new Map<number, number>();
  /** Build activity ids forwarded by a remote builder -> the local Build activity of the same derivation. */
  private readonly nestedBuilds = new Map<number, number>();

  constructor(
    private readonly hooks: {
      /** Every build log line, with the derivation it belongs to. */
      onLogLine?: (drvName: string, line: string) => void;
      /** Every build that starts, with the remote builder it runs on. */
      onBuildStarted?: (build: RunningBuild) => void;
      /** Every message Nix prints (warnings, errors, plain lines). */
      onMessage?: (level: number, text: string) => void;
    } = {},
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  ingest(line: string): void {
    if (!line.startsWith('@nix ')) {
      if (line.trim()) this.message(3, stripAnsi(line));
      return;
    }
    let event: RawEvent;
    try {
      event = JSON.parse(line.slice(5)) as RawEvent;
    } catch {
      this.message(3, line);
      return;
    }
    const fields = Array.isArray(event.fields) ? event.fields : [];
    switch (event.action) {
      case 'msg':
        this.message(event.level ?? 3, stripAnsi(String(event.msg ?? '')));
        break;
      case 'start':
        if (typeof event.id !== 'number') break;
        this.activities.set(event.id, { type: event.type ?? 0, fields });
        if (event.type !== undefined && OUTERMOST_TYPES.has(event.type) && !this.outermost.has(event.type)) this.outermost.set(event.type, event.id);
        if (event.type === ActivityType.Build && typeof fields[0] === 'string') {
          const machine = typeof fields[1] === 'string' && fields[1] ? fields[1] : undefined;
          const drvPath = fields[0];
          const outer = [...this.running].find(([, b]) => b.drvPath === drvPath);
          if (outer) {
            this.nestedBuilds.set(event.id, outer[0]);
            if (machine && !outer[1].machine) outer[1].machine = machine;
          } else {
            const build: RunningBuild = { drvPath, name: derivationName(drvPath), startedAt: this.now(), ...(machine ? { machine } : {}) };
            this.running.set(event.id, build);
            this.hooks.onBuildStarted?.(build);
          }
        } else if (event.type === ActivityType.Substitute && typeof fields[0] === 'string') {
          this.substituted.add(fields[0]);
        }
        break;
      case 'stop': {
        if (typeof event.id !== 'number') break;
        for (const [type, id] of this.outermost) if (id === event.id) this.outermost.delete(type);
        this.nestedBuilds.delete(event.id);
        const build = this.running.get(event.id);
        if (build) {
          this.running.delete(event.id);
          this.finished.push({
            drvPath: build.drvPath,
            name: build.name,
            seconds: (this.now() - build.startedAt) / 1000,
            ...(build.machine ? { machine: build.machine } : {}),
          });
        }
        this.activities.delete(event.id);
        break;
      }
      case 'result':
        this.result(event.id, event.type, fields);
        break;
      default:
        break;
    }
  }

  private result(id: number | undefined, type: number | undefined, fields: unknown[]): void {
    const activity = id === undefined ? undefined : this.activities.get(id);
    const isOutermost = activity !== undefined && this.outermost.get(activity.type) === id;
    const build = id === undefined ? undefined : this.running.get(this.nestedBuilds.get(id) ?? id);
    switch (type) {
      case ResultType.BuildLogLine:
      case ResultType.PostBuildLogLine: {
        const text = stripAnsi(typeof fields[0] === 'string' ? fields[0] : '');
        const name = build?.name ?? 'nix';
        if (build) {
          const tail = this.logTails.get(build.drvPath) ?? [];
          tail.push(text);
          if (tail.length > LOG_TAIL) tail.shift();
          this.logTails.set(build.drvPath, tail);
        }
        this.hooks.onLogLine?.(name, text);
        break;
      }
      case ResultType.SetPhase: {
        if (build && typeof fields[0] === 'string') build.phase = fields[0];
        break;
      }
      case ResultType.Progress: {
        const nums = numbers(fields);
        if (activity?.type === ActivityType.Builds && isOutermost) {
          this.builds = { done: nums[0] ?? 0, expected: nums[1] ?? 0, running: nums[2] ?? 0, failed: nums[3] ?? 0 };
        } else if (activity?.type === ActivityType.CopyPaths && isOutermost) {
          this.substitutions = { done: nums[0] ?? 0, expected: nums[1] ?? 0 };
        } else if (activity?.type === ActivityType.FileTransfer && id !== undefined) {
          this.transfers.set(id, nums[0] ?? 0);
          this.downloadedBytes = [...this.transfers.values()].reduce((a, b) => a + b, 0);
        }
        break;
      }
      case ResultType.SetExpected: {
        const nums = numbers(fields);
        if (activity?.type === ActivityType.Realise && isOutermost && nums[0] === ActivityType.FileTransfer) this.expectedDownloadBytes = nums[1] ?? 0;
        break;
      }
      default:
        break;
    }
  }

  private message(level: number, text: string): void {
    this.messages.push({ level, text });
    this.hooks.onMessage?.(level, text);
  }

  /** The derivation whose builder failed, from Nix's error message. */
  failedDerivation(): string | undefined {
    for (const { text } of this.messages) {
      const match = /builder for '([^']+\.drv)' failed/.exec(text);
      if (match) return match[1];
    }
    return undefined;
  }

  /** Every derivation whose builder failed (several with --keep-going). */
  failedDerivations(): string[] {
    return [...new Set(this.messages.flatMap(({ text }) => [...text.matchAll(/builder for '([^']+\.drv)' failed/g)].map((m) => m[1])))];
  }

  logTail(drvPath: string): string[] {
    return this.logTails.get(drvPath) ?? [];
  }

  errors(): string[] {
    return this.messages.filter((m) => m.level === 0).map((m) => m.text.replace(/^error:\s*/, ''));
  }

  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }
}
