import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { QmpClient } from './qmp';

export type ProbeKind = 'http' | 'ssh-banner';

export interface Probe {
  kind: ProbeKind;
  port: number;
  /** HTTP path. */
  path?: string;
  /** Speak TLS first (an https service on that port). */
  tls?: boolean;
  /** Which HTTP statuses count as ready; 2xx and 3xx by default. */
  accept?: StatusMatcher;
}

export interface StatusMatcher {
  (status: number): boolean;
  /** e.g. "2xx, 3xx, 401", for messages. */
  text: string;
}

/** readiness.acceptStatus of profile.json: status codes (401) and classes ("2xx"). */
export function httpStatusMatcher(accepted: readonly (number | string)[] = ['2xx', '3xx']): StatusMatcher {
  const match = (status: number) =>
    accepted.some((a) => (typeof a === 'number' ? status === a : Math.floor(status / 100) === Number(a[0])));
  return Object.assign(match, { text: accepted.join(', ') });
}

const DEFAULT_ACCEPT = httpStatusMatcher();

/** The status code of an HTTP status line, e.g. 404 of "HTTP/1.1 404 Not Found". */
const statusOf = (line: string) => Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(line)?.[1]);

/** True when a probe's answer means ready: any SSH banner, or an HTTP status the probe accepts. */
export function isReadyAnswer(probe: Probe, answer: string): boolean {
  return probe.kind !== 'http' || (probe.accept ?? DEFAULT_ACCEPT)(statusOf(answer));
}

/**
 * One attempt: resolves to the answer's first line (an HTTP status line or an SSH banner), or undefined.
 * With QEMU's user networking the host port always accepts, so only a real answer from the guest counts.
 */
export function probeOnce(probe: Probe, timeoutMs = 3_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const finish = (value: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const onConnect = () => {
      if (probe.kind === 'http') socket.write(`GET ${probe.path ?? '/'} HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: nx-nixos-readiness\r\nConnection: close\r\n\r\n`);
    };
    const socket: Socket = probe.tls
      ? connectTls({ host: '127.0.0.1', port: probe.port, rejectUnauthorized: false }, onConnect)
      : connectTcp({ host: '127.0.0.1', port: probe.port }, onConnect);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const line = data.split(/\r?\n/)[0];
      if (probe.kind === 'http' && /^HTTP\/\d(\.\d)? \d{3}/.test(line)) finish(line.trim());
      else if (probe.kind === 'ssh-banner' && /^SSH-\d/.test(line) && data.includes('\n')) finish(line.trim());
      else if (data.length > 8192) finish(undefined);
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
  });
}

/**
 * Starts a probe every `intervalMs` without waiting for earlier ones to give up (a connection to a guest
 * whose network is not up yet hangs until its timeout), so an answer is seen within one interval.
 * Resolves to the first answer that means ready, or undefined at the deadline or when `isAlive` turns false;
 * `onRejected` hears answers that do not count (e.g. an HTTP 502 from a proxy whose backend is starting).
 */
export function pollForAnswer(
  probe: Probe,
  options: {
    deadline: number;
    intervalMs?: number;
    attemptTimeoutMs?: number;
    maxInFlight?: number;
    isAlive?: () => boolean;
    onRejected?: (answer: string) => void;
  },
): Promise<string | undefined> {
  const intervalMs = options.intervalMs ?? 100;
  const maxInFlight = options.maxInFlight ?? 16;
  return new Promise((resolve) => {
    let inFlight = 0;
    let done = false;
    const finish = (answer: string | undefined) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      resolve(answer);
    };
    const tick = () => {
      if (done) return;
      if (Date.now() > options.deadline || (options.isAlive && !options.isAlive())) return finish(undefined);
      if (inFlight >= maxInFlight) return;
      inFlight++;
      const timeout = Math.max(200, Math.min(options.attemptTimeoutMs ?? 1_500, options.deadline - Date.now()));
      void probeOnce(probe, timeout).then((answer) => {
        inFlight--;
        if (answer && isReadyAnswer(probe, answer)) finish(answer);
        else if (answer) options.onRejected?.(answer);
      });
    };
    const timer = setInterval(tick, intervalMs);
    tick();
  });
}

export type Stage = 'started' | 'process alive' | 'QMP running' | 'answered';

export interface ReadinessOptions {
  /** False once QEMU has exited. */
  isAlive: () => boolean;
  qmpSocket: string;
  probe?: Probe;
  timeoutMs: number;
  serialLog: string;
  qemuLog: string;
  accel: 'kvm' | 'tcg';
  pollMs?: number;
  /** Called as each stage is reached. */
  onStage?(stage: Stage, detail?: string): void;
}

export class NotReadyError extends Error {
  constructor(message: string, readonly reached: Stage, readonly exited: boolean) {
    super(message);
    this.name = 'NotReadyError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const fileSize = (file: string) => (existsSync(file) ? statSync(file).size : 0);

/** Waits for the layers in order: process alive, QMP reports running, a real answer on the readiness port. */
export async function waitUntilReady(options: ReadinessOptions): Promise<{ stage: Stage; answer?: string }> {
  const pollMs = options.pollMs ?? 100;
  const deadline = Date.now() + options.timeoutMs;
  let stage = 'started' as Stage;
  const reach = (next: Stage, detail?: string) => {
    stage = next;
    options.onStage?.(next, detail);
  };
  const exitedError = () => {
    const log = tail(options.qemuLog, 15);
    return new NotReadyError(
      `QEMU exited before the VM was ready (reached: ${stage}).${log ? `\nQEMU said:\n${log}` : ''}\nSerial log: ${options.serialLog}`,
      stage,
      true,
    );
  };

  if (!options.isAlive()) throw exitedError();
  reach('process alive');

  let qmp: QmpClient | undefined;
  try {
    while (stage === 'process alive') {
      if (!options.isAlive()) throw exitedError();
      if (Date.now() > deadline) break;
      try {
        qmp ??= await QmpClient.connect(options.qmpSocket, 2_000);
        const status = await qmp.execute<{ status: string; running: boolean }>('query-status');
        if (status.running) reach('QMP running', status.status);
      } catch {
        qmp?.close();
        qmp = undefined;
      }
      if (stage === 'process alive') await sleep(pollMs);
    }
  } finally {
    qmp?.close();
  }

  if (stage === 'QMP running' && !options.probe) return { stage };
  let rejected: string | undefined;
  if (stage === 'QMP running' && options.probe) {
    const answer = await pollForAnswer(options.probe, { deadline, intervalMs: pollMs, isAlive: options.isAlive, onRejected: (a) => (rejected = a) });
    if (answer) {
      reach('answered', answer);
      return { stage, answer };
    }
  }
  if (!options.isAlive()) throw exitedError();
  throw new NotReadyError(timeoutMessage(options, stage, rejected), stage, false);
}

export function timeoutMessage(options: Pick<ReadinessOptions, 'timeoutMs' | 'probe' | 'serialLog' | 'accel'>, reached: Stage, rejected?: string): string {
  const seconds = Math.round(options.timeoutMs / 1000);
  const probe = options.probe;
  const waitingFor =
    reached === 'process alive'
      ? 'QMP never reported the VM running'
      : probe && rejected
        ? `127.0.0.1:${probe.port}${probe.path ?? '/'} answered "${rejected}", which is not ready (readiness.acceptStatus: ${(probe.accept ?? DEFAULT_ACCEPT).text})`
        : probe
          ? `no ${probe.kind === 'http' ? 'HTTP status' : 'SSH banner'} on 127.0.0.1:${probe.port} yet`
          : 'no answer';
  const lines = [`The VM was not ready after ${seconds} s. Reached: ${reached}; ${waitingFor}.`, `Serial log: ${options.serialLog}`];
  const silent = fileSize(options.serialLog) === 0;
  if (silent && options.accel === 'kvm')
    lines.push('The guest printed nothing on the serial console: KVM looks unusable on this host. Try again with --accel tcg.');
  else if (silent) lines.push('The guest printed nothing on the serial console: check that the image logs to ttyS0 (console=ttyS0).');
  else lines.push(`Last lines of the serial log:\n${tail(options.serialLog, 10)}`);
  return lines.join('\n');
}
