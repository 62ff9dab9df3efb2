import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import { fitsUnixSocket, qemuOptValue, type Accelerator } from './argv';
import type { AssignedPort } from './ports';

/** Instance folders live in the workspace (ignored by Git), one per profile and instance name. */
export const vmsDir = (workspaceRoot: string) => join(workspaceRoot, 'artifacts', 'vms');
export const INSTANCE_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;
export const DEFAULT_INSTANCE = 'default';

export interface InstancePaths {
  dir: string;
  state: string;
  pidfile: string;
  qmpSocket: string;
  serialLog: string;
  qemuLog: string;
  overlay: string;
}

export function instancePaths(workspaceRoot: string, profile: string, instance: string): InstancePaths {
  const dir = join(vmsDir(workspaceRoot), profile, instance);
  let qmpSocket = join(dir, 'qmp.sock');
  // A deep workspace would exceed the unix socket limit: use a short, stable path outside it instead.
  if (!fitsUnixSocket(qmpSocket)) {
    const id = createHash('sha256').update(dir).digest('hex').slice(0, 16);
    qmpSocket = join(process.env.XDG_RUNTIME_DIR && existsSync(process.env.XDG_RUNTIME_DIR) ? process.env.XDG_RUNTIME_DIR : tmpdir(), `nx-nixos-${id}.qmp`);
    if (!fitsUnixSocket(qmpSocket)) throw new Error(`No QMP socket path fits the 108-byte unix socket limit (tried ${qmpSocket}); set TMPDIR to a short folder.`);
  }
  return {
    dir,
    state: join(dir, 'state.json'),
    pidfile: join(dir, 'qemu.pid'),
    qmpSocket,
    serialLog: join(dir, 'serial.log'),
    qemuLog: join(dir, 'qemu.log'),
    overlay: join(dir, 'disk.qcow2'),
  };
}

export interface ServiceUrl {
  name: string;
  url: string;
}

/** state.json (mode 0600): what status and stop need. Paths of secret files only, never their content. */
export interface InstanceState {
  stateVersion: 1;
  profile: string;
  instance: string;
  pid: number;
  accel: Accelerator;
  startedAt: string;
  readyAt?: string;
  stoppedAt?: string;
  stoppedHow?: StopHow;
  ports: AssignedPort[];
  urls: ServiceUrl[];
  qmpSocket: string;
  serialLog: string;
  qemuLog: string;
  image: { storePath: string; kind: 'disk' | 'kernel'; base?: string };
  overlay?: string;
  secrets: { name: string; file: string }[];
  command: string[];
}

export type StopHow = 'powerdown' | 'quit' | 'kill' | 'exited';

export function writeState(paths: InstancePaths, state: InstanceState): void {
  writeFileAtomic(paths.state, JSON.stringify(state, null, 2) + '\n', 0o600);
}

export function readState(paths: InstancePaths): InstanceState | undefined {
  try {
    return JSON.parse(readFileSync(paths.state, 'utf8')) as InstanceState;
  } catch {
    return undefined;
  }
}

export function readPidfile(paths: InstancePaths): number | undefined {
  try {
    const pid = Number(readFileSync(paths.pidfile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True only when `pid` is a live QEMU serving this instance's QMP socket, read from /proc/<pid>/cmdline.
 * A stale pidfile whose PID now belongs to another process (or a zombie, whose cmdline is empty) is not ours.
 */
export function isOurQemu(pid: number, qmpSocket: string): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  const args = cmdline.split('\0');
  return basename(args[0] ?? '').startsWith('qemu-system') && args.some((a) => a.startsWith(`unix:${qemuOptValue(qmpSocket)},`));
}

/** True for a process that exists and is not a zombie (a dead child nobody has reaped yet). */
export function isLiveProcess(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A live QEMU with this instance's socket, even if its pidfile is gone. */
function isOurQemuAnywhere(state: InstanceState): boolean {
  return isOurQemu(state.pid, state.qmpSocket);
}

export type InstanceStatus = 'running' | 'stopped' | 'broken';

export interface InstanceInfo {
  profile: string;
  instance: string;
  paths: InstancePaths;
  status: InstanceStatus;
  /** Why it is broken. */
  reason?: string;
  state?: InstanceState;
  pid?: number;
  uptimeSeconds?: number;
}

export function inspectInstance(workspaceRoot: string, profile: string, instance: string): InstanceInfo {
  const paths = instancePaths(workspaceRoot, profile, instance);
  const state = readState(paths);
  const pid = readPidfile(paths);
  const base = { profile, instance, paths, state };
  if (pid !== undefined) {
    if (state && isOurQemu(pid, state.qmpSocket))
      return { ...base, status: 'running', pid, uptimeSeconds: Math.round((Date.now() - Date.parse(state.startedAt)) / 1000) };
    const reason = isLiveProcess(pid)
      ? `its pidfile names PID ${pid}, which is not this instance's QEMU (left alone)`
      : `its pidfile names PID ${pid}, which is not running (QEMU died or was killed)`;
    return { ...base, status: 'broken', reason, pid };
  }
  if (existsSync(paths.pidfile)) return { ...base, status: 'broken', reason: 'its pidfile is unreadable' };
  // QEMU removes its pidfile when it exits by itself (the guest powered off): that is a clean stop.
  if (state && existsSync(state.qmpSocket) && !isOurQemuAnywhere(state)) return { ...base, status: 'broken', reason: 'its QMP socket is left over' };
  return { ...base, status: 'stopped' };
}

/** Every instance folder under artifacts/vms, optionally of one profile, sorted by profile and name. */
export function listInstances(workspaceRoot: string, profile?: string): InstanceInfo[] {
  const root = vmsDir(workspaceRoot);
  const dirs = (dir: string) => {
    try {
      return readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory()).sort();
    } catch {
      return [];
    }
  };
  const profiles = profile ? [profile] : dirs(root);
  return profiles.flatMap((p) => dirs(join(root, p)).map((i) => inspectInstance(workspaceRoot, p, i)));
}

/** The first instance name that is not running: the default one, then default-2, default-3, ... */
export function freeInstanceName(workspaceRoot: string, profile: string): string {
  for (let n = 1; ; n++) {
    const name = n === 1 ? DEFAULT_INSTANCE : `${DEFAULT_INSTANCE}-${n}`;
    if (inspectInstance(workspaceRoot, profile, name).status !== 'running') return name;
  }
}

/** Removes what only a running QEMU needs: pidfile and socket. Logs, disk and state stay. */
export function removeRuntimeFiles(paths: InstancePaths, qmpSocket = paths.qmpSocket): void {
  rmSync(paths.pidfile, { force: true });
  rmSync(qmpSocket, { force: true });
}

/** Marks a broken instance stopped, so the next launch starts cleanly. Never signals anything. */
export function cleanBrokenInstance(info: InstanceInfo): void {
  if (info.status !== 'broken') return;
  removeRuntimeFiles(info.paths, info.state?.qmpSocket);
  if (info.state) writeState(info.paths, { ...info.state, stoppedAt: info.state.stoppedAt ?? new Date().toISOString(), stoppedHow: info.state.stoppedHow ?? 'exited' });
}

/** Records that QEMU exited on its own (the guest powered off) and removes pidfile and socket. */
export function finishExited(paths: InstancePaths): void {
  const state = readState(paths);
  removeRuntimeFiles(paths, state?.qmpSocket);
  if (state && !state.stoppedAt) writeState(paths, { ...state, stoppedAt: new Date().toISOString(), stoppedHow: 'exited' });
}
