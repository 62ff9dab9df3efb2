import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic';
import { instanceDir, inWorkspace, vmsDir as vmsFolder } from '../layout';
import { fitsUnixSocket, qemuOptValue } from './argv';
import { findProcesses, isLiveProcess, processArgs, processStat } from './proc';

export { isLiveProcess } from './proc';

/** Instance folders live in the workspace (ignored by Git), one per profile and instance name. */
export const vmsDir = (workspaceRoot: string) => inWorkspace(workspaceRoot, vmsFolder());
export const INSTANCE_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;
export const DEFAULT_INSTANCE = 'default';
/** The -name of every QEMU this plugin starts begins with it. */
export const QEMU_NAME_PREFIX = 'nx-nixos-';

export interface InstancePaths {
  dir: string;
  state: string;
  pidfile: string;
  qmpSocket: string;
  serialLog: string;
  qemuLog: string;
  overlay: string;
  /** The development VM's writable disk (NIX_DISK_IMAGE): kept between launches until --fresh. */
  devDisk: string;
  /** The development VM's TMPDIR (its xchg folder, the default SHARED_DIR). */
  devTmp: string;
}

export function instancePaths(workspaceRoot: string, profile: string, instance: string): InstancePaths {
  const dir = inWorkspace(workspaceRoot, instanceDir(profile, instance));
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
    devDisk: join(dir, 'dev-vm.qcow2'),
    devTmp: join(dir, 'dev-vm-tmp'),
  };
}

const stopHow = z.enum(['powerdown', 'quit', 'kill', 'exited']);
export type StopHow = z.infer<typeof stopHow>;

const serviceUrl = z.object({ name: z.string(), url: z.string() });
export type ServiceUrl = z.infer<typeof serviceUrl>;

/** state.json (mode 0600): what status and stop need. Paths of secret files only, never their content. */
export const instanceStateSchema = z.object({
  stateVersion: z.literal(1),
  profile: z.string(),
  instance: z.string(),
  pid: z.number().int().positive(),
  accel: z.enum(['kvm', 'tcg']),
  startedAt: z.string(),
  readyAt: z.string().optional(),
  stoppedAt: z.string().optional(),
  stoppedHow: stopHow.optional(),
  ports: z.array(z.object({ name: z.string(), guest: z.number().int(), requested: z.number().int(), host: z.number().int() })),
  urls: z.array(serviceUrl),
  qmpSocket: z.string().min(1),
  serialLog: z.string(),
  qemuLog: z.string(),
  /** What booted: a disk or kernel image, or a development VM's run script (runScript, with its disk in devDisk). */
  image: z.object({ storePath: z.string(), kind: z.enum(['disk', 'kernel', 'dev-vm']), base: z.string().optional(), runScript: z.string().optional() }),
  overlay: z.string().optional(),
  devDisk: z.string().optional(),
  secrets: z.array(z.object({ name: z.string(), file: z.string() })),
  /** The instance's SSH identity: paths of its private key and known_hosts, never their content. */
  ssh: z.object({ key: z.string(), knownHosts: z.string(), hostKeyAlias: z.string() }).optional(),
  command: z.array(z.string()),
});
export type InstanceState = z.infer<typeof instanceStateSchema>;

/** Writes state.json atomically; a failure names the file (Node's ENOSPC and EACCES messages do not). */
export function writeState(paths: InstancePaths, state: InstanceState): void {
  try {
    writeFileAtomic(paths.state, JSON.stringify(state, null, 2) + '\n', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = (e as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+(?: '.*')?$/, '');
    throw Object.assign(new Error(`Could not write ${paths.state}: ${why}${code ? ` (${code})` : ''}`), { code });
  }
}

/** state.json, validated; `problem` says what is wrong with a file that exists but cannot be used. */
export function loadState(paths: InstancePaths): { state?: InstanceState; problem?: string } {
  let text: string;
  try {
    text = readFileSync(paths.state, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? {} : { problem: `${paths.state} cannot be read (${code ?? (e as Error).message})` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { problem: `${paths.state} is not valid JSON (${(e as Error).message})` };
  }
  const parsed = instanceStateSchema.safeParse(raw);
  if (parsed.success) return { state: parsed.data };
  const issue = parsed.error.issues[0];
  return { problem: `${paths.state} is damaged: ${issue.path.join('.') || '(the whole file)'}: ${issue.message}` };
}

export function readState(paths: InstancePaths): InstanceState | undefined {
  return loadState(paths).state;
}

export function readPidfile(paths: InstancePaths): number | undefined {
  try {
    const pid = Number(readFileSync(paths.pidfile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The value of a flag; the last one wins, as in QEMU (a development VM's run script sets -name before the options we add). */
const argAfter = (args: readonly string[], flag: string) => {
  const i = args.lastIndexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

/**
 * True when a command line is a QEMU this plugin started for the instance: its -name is ours, and it serves
 * one of the instance's QMP sockets or writes the instance's pidfile. Nothing here trusts a file that can be lost.
 */
export function isOurQemuArgs(args: readonly string[], qmpSockets: readonly string[], pidfile?: string): boolean {
  if (!argAfter(args, '-name')?.startsWith(QEMU_NAME_PREFIX)) return false;
  const qmp = argAfter(args, '-qmp');
  return qmpSockets.some((s) => qmp === `unix:${qemuOptValue(s)},server=on,wait=off`) || (pidfile !== undefined && argAfter(args, '-pidfile') === pidfile);
}

/**
 * True only when `pid` is a live QEMU of this instance, read from /proc/<pid>/cmdline. A stale pidfile whose
 * PID now belongs to another process (or a zombie, whose cmdline is empty) is not ours.
 */
export function isOurQemu(pid: number, qmpSocket: string, pidfile?: string): boolean {
  return isOurQemuArgs(processArgs(pid), [qmpSocket], pidfile);
}

/** The QMP socket a QEMU command line serves. */
export function qmpSocketOf(args: readonly string[]): string | undefined {
  const qmp = argAfter(args, '-qmp');
  const m = qmp && /^unix:((?:[^,]|,,)*),/.exec(qmp);
  return m ? m[1].replace(/,,/g, ',') : undefined;
}

/** A live QEMU of an instance, found in /proc by what it serves. */
export interface FoundQemu {
  /** The VM process (the one the pidfile or state names when it is among them). */
  pid: number;
  /** Every process with that command line: while QEMU daemonizes there are briefly several. */
  pids: number[];
  qmpSocket: string;
}

export function findQemu(paths: InstancePaths, state?: InstanceState): FoundQemu | undefined {
  const sockets = [paths.qmpSocket, ...(state && state.qmpSocket !== paths.qmpSocket ? [state.qmpSocket] : [])];
  const found = findProcesses((args) => isOurQemuArgs(args, sockets, paths.pidfile));
  if (found.length === 0) return undefined;
  const pids = found.map((p) => p.pid);
  const named = [readPidfile(paths), state?.pid].find((p) => p !== undefined && pids.includes(p));
  // Without a name, the newest one: the daemon is forked last.
  const pid = named ?? [...pids].sort((a, b) => (processStat(b)?.startTime ?? 0) - (processStat(a)?.startTime ?? 0))[0];
  return { pid, pids, qmpSocket: qmpSocketOf(found.find((p) => p.pid === pid)!.args) ?? paths.qmpSocket };
}

export type InstanceStatus = 'running' | 'stopped' | 'broken';

export interface InstanceInfo {
  profile: string;
  instance: string;
  paths: InstancePaths;
  status: InstanceStatus;
  /** Why it is broken. */
  reason?: string;
  /** Valid state.json, when there is one. */
  state?: InstanceState;
  /** What is wrong with state.json, when it exists but cannot be used. */
  stateProblem?: string;
  /** Other things worth saying about a running instance (a lost or wrong pidfile, state of an earlier run). */
  notes?: string[];
  pid?: number;
  qemu?: FoundQemu;
  uptimeSeconds?: number;
}

function processUptimeSeconds(pid: number): number | undefined {
  const stat = processStat(pid);
  if (!stat) return undefined;
  try {
    const bootSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    // Linux reports start times in USER_HZ, which is 100 on every architecture Node runs on.
    return Math.max(0, Math.round(bootSeconds - stat.startTime / 100));
  } catch {
    return undefined;
  }
}

export function inspectInstance(workspaceRoot: string, profile: string, instance: string): InstanceInfo {
  const paths = instancePaths(workspaceRoot, profile, instance);
  const { state, problem: stateProblem } = loadState(paths);
  const pidfilePid = readPidfile(paths);
  const base = { profile, instance, paths, state, stateProblem };
  const qemu = findQemu(paths, state);
  if (qemu) {
    const notes: string[] = [];
    const current = state !== undefined && state.pid === qemu.pid && !state.stoppedAt;
    if (stateProblem) notes.push(`${stateProblem}; its ports and URLs are unknown`);
    else if (!state) notes.push('it has no state.json; its ports and URLs are unknown');
    else if (!current) notes.push(`state.json describes an earlier run (PID ${state.pid}); its ports and URLs are unknown`);
    if (pidfilePid !== qemu.pid) notes.push(pidfilePid === undefined ? 'its pidfile is missing' : `its pidfile names PID ${pidfilePid}, not QEMU's`);
    const uptimeSeconds = current ? Math.round((Date.now() - Date.parse(state.startedAt)) / 1000) : processUptimeSeconds(qemu.pid);
    return { ...base, state: current ? state : undefined, status: 'running', pid: qemu.pid, qemu, notes, uptimeSeconds };
  }
  if (pidfilePid !== undefined) {
    const reason = isLiveProcess(pidfilePid)
      ? `its pidfile names PID ${pidfilePid}, which is not this instance's QEMU (left alone)`
      : `its pidfile names PID ${pidfilePid}, which is not running (QEMU died or was killed)`;
    return { ...base, status: 'broken', reason, pid: pidfilePid };
  }
  if (existsSync(paths.pidfile)) return { ...base, status: 'broken', reason: 'its pidfile is unreadable' };
  // QEMU removes its pidfile when it exits by itself (the guest powered off): that is a clean stop.
  const socket = state?.qmpSocket ?? paths.qmpSocket;
  const kind = fileKind(socket);
  if (kind === 'directory') return { ...base, status: 'broken', reason: `${socket} is a folder where QEMU's QMP socket belongs (remove it: rm -r ${socket})` };
  if (kind) return { ...base, status: 'broken', reason: `its QMP socket ${socket} is left over, but no QEMU serves it` };
  return { ...base, status: 'stopped' };
}

const fileKind = (path: string): 'directory' | 'other' | undefined => {
  try {
    return lstatSync(path).isDirectory() ? 'directory' : 'other';
  } catch {
    return undefined;
  }
};

const instancePattern = (workspaceRoot: string) =>
  new RegExp(`^${vmsDir(workspaceRoot).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([^/]+)/([^/]+)/qemu\\.pid$`);

/**
 * Every instance of the workspace, optionally of one profile, sorted by profile and name: its folders, and
 * any QEMU of ours whose folder was deleted while it ran (found by the pidfile path on its command line).
 */
export function listInstances(workspaceRoot: string, profile?: string): InstanceInfo[] {
  const root = vmsDir(workspaceRoot);
  const dirs = (dir: string) => {
    try {
      return readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory());
    } catch {
      return [];
    }
  };
  const names = new Set<string>();
  for (const p of profile ? [profile] : dirs(root)) for (const i of dirs(join(root, p))) names.add(`${p}/${i}`);
  const pattern = instancePattern(workspaceRoot);
  for (const { args } of findProcesses((args) => argAfter(args, '-name')?.startsWith(QEMU_NAME_PREFIX) === true)) {
    const m = pattern.exec(argAfter(args, '-pidfile') ?? '');
    if (m && (!profile || m[1] === profile)) names.add(`${m[1]}/${m[2]}`);
  }
  return [...names].sort().map((n) => {
    const [p, i] = n.split('/');
    return inspectInstance(workspaceRoot, p, i);
  });
}

/** Removes what only a running QEMU needs: pidfile and socket. Logs, disk and state stay. */
export function removeRuntimeFiles(paths: InstancePaths, qmpSocket = paths.qmpSocket): void {
  for (const file of [paths.pidfile, qmpSocket]) {
    const kind = fileKind(file);
    if (kind === 'directory')
      throw new Error(`${file} is a folder where QEMU's ${file === paths.pidfile ? 'pidfile' : 'QMP socket'} belongs. nx-nixos did not make it and leaves it alone: remove it (rm -r ${file}) and try again.`);
    if (kind) rmSync(file, { force: true });
  }
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
