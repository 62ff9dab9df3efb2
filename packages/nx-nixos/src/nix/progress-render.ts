import type { NixBuildMonitor } from './progress';

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60 ? `${m}m${String(s).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** One status line: "built 2/5 | running: nixos-image | 12.0 MiB/40.0 MiB at 2.1 MiB/s | 1m23s". */
export function statusLine(monitor: NixBuildMonitor, bytesPerSecond = 0): string {
  const parts = [`built ${monitor.builds.done}/${monitor.builds.expected}`];
  if (monitor.builds.failed) parts.push(`${monitor.builds.failed} failed`);
  if (monitor.substitutions.expected) parts.push(`fetched ${monitor.substitutions.done}/${monitor.substitutions.expected}`);
  const running = [...monitor.running.values()].map((b) => `${b.name}${b.machine ? ` on ${b.machine}` : ''}${b.phase ? ` (${b.phase})` : ''}`);
  if (running.length) parts.push(`running: ${running.slice(0, 3).join(', ')}${running.length > 3 ? ` +${running.length - 3}` : ''}`);
  if (monitor.downloadedBytes || monitor.expectedDownloadBytes) {
    const expected = monitor.expectedDownloadBytes ? `/${formatBytes(monitor.expectedDownloadBytes)}` : '';
    parts.push(`${formatBytes(monitor.downloadedBytes)}${expected} down${bytesPerSecond ? ` at ${formatBytes(bytesPerSecond)}/s` : ''}`);
  }
  parts.push(formatDuration(monitor.elapsedSeconds()));
  return parts.join(' | ');
}

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Shows build progress: on a TTY one live line repainted a few times a second; elsewhere (CI, pipes)
 * a status line every `intervalMs` when something changed.
 */
export class ProgressReporter {
  private timer?: NodeJS.Timeout;
  private lastLine = '';
  private lastBytes = 0;
  private lastTick = Date.now();
  private rate = 0;
  private painted = false;

  constructor(
    private readonly monitor: NixBuildMonitor,
    private readonly out: ProgressOutput,
    private readonly intervalMs = out.isTTY ? 200 : 10_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Prints a line above the live status (a log line or a message) without garbling it. */
  print(text: string): void {
    this.clear();
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  tick(): void {
    const now = Date.now();
    const seconds = (now - this.lastTick) / 1000;
    if (seconds > 0) this.rate = Math.max(0, (this.monitor.downloadedBytes - this.lastBytes) / seconds);
    this.lastBytes = this.monitor.downloadedBytes;
    this.lastTick = now;
    const line = statusLine(this.monitor, this.rate);
    if (this.out.isTTY) {
      const width = Math.max(20, (this.out.columns ?? 100) - 1);
      this.out.write(`\r\x1b[K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
      this.painted = true;
    } else if (line.replace(/\| [^|]+$/, '') !== this.lastLine.replace(/\| [^|]+$/, '')) {
      this.out.write(`${line}\n`);
    }
    this.lastLine = line;
  }

  private clear(): void {
    if (this.out.isTTY && this.painted) {
      this.out.write('\r\x1b[K');
      this.painted = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }
}
