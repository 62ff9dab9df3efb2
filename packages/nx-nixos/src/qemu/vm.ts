import { spawn } from 'node:child_process';
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { kvmStatus } from '../host/kvm';
import { enabledServices, type Profile } from '../profile/schema';
import { CREDENTIAL_NAME, qemuArgv, type Accelerator, type BootSpec, type SecretFile } from './argv';
import { prepareOverlay } from './disk';
import {
  DEFAULT_INSTANCE,
  INSTANCE_NAME,
  QEMU_NAME_PREFIX,
  cleanBrokenInstance,
  finishExited,
  findQemu,
  inspectInstance,
  instancePaths,
  isOurQemu,
  isOurQemuArgs,
  readState,
  removeRuntimeFiles,
  writeState,
  type FoundQemu,
  type InstanceInfo,
  type InstancePaths,
  type InstanceState,
  type ServiceUrl,
  type StopHow,
} from './instance';
import { describeOwner, InstanceBusyError, lockInstance, tryLockInstance, type InstanceLock } from './lock';
import { allocatePorts, type AssignedPort } from './ports';
import { processArgs } from './proc';
import { qmpOnce } from './qmp';
import { httpStatusMatcher, waitUntilReady, type Probe, type Stage } from './readiness';

/** The QEMU to run: NX_NIXOS_QEMU when set, else qemu-system-x86_64 from PATH. Read at each launch. */
export function qemuBinary(): { path: string; fromEnv: boolean } {
  const configured = process.env.NX_NIXOS_QEMU;
  return configured ? { path: configured, fromEnv: true } : { path: 'qemu-system-x86_64', fromEnv: false };
}
export const QEMU_BINARY = qemuBinary().path;
export const DEFAULT_GRACE_SECONDS = 30;
/** How long stop waits for a launcher that is starting the same instance. */
const LOCK_WAIT_MS = 60_000;

/** The image to boot: a store path and what it holds (from the build manifest). */
export interface BootImage {
  storePath: string;
  image: { kind: 'disk'; format: 'qcow2' | 'raw'; file: string } | { kind: 'kernel'; kernel: string; initrd: string; cmdline: string };
}

export interface LaunchVmOptions {
  workspaceRoot: string;
  profile: Profile;
  image: BootImage;
  /** Instance name; default: "default", or the next free one when that runs or is being started. */
  instance?: string;
  accel?: Accelerator | 'auto';
  strictPorts?: boolean;
  fresh?: boolean;
  secrets?: readonly SecretFile[];
  /** Overrides profile.readiness.timeoutSeconds. */
  readinessTimeoutSeconds?: number;
  /** Overrides the kernel command line (kernel images only). */
  cmdline?: string;
  log?: (line: string) => void;
  warn?: (line: string) => void;
  /** How a host port is checked before QEMU binds it; isPortFree by default. */
  portIsFree?: (port: number) => Promise<boolean>;
  /** Aborted (e.g. on Ctrl-C) before the VM is ready: stop waiting and shut it down. */
  signal?: AbortSignal;
  /** Grace for that shutdown; DEFAULT_GRACE_SECONDS by default. */
  graceSeconds?: number;
  /** Who is launching, as a second launcher or stop names it, e.g. "nx run development:start". */
  purpose?: string;
}

/** Launch was interrupted before the VM was ready; the VM has been shut down. */
export class LaunchInterruptedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchInterruptedError';
  }
}

export interface RunningVm {
  info: InstanceInfo;
  state: InstanceState;
  paths: InstancePaths;
  replacedPorts: AssignedPort[];
  stage: Stage;
  /** Resolves when QEMU exits (only for the process that launched it). */
  exited: Promise<void>;
  /** Lets this Node process exit while QEMU keeps running. */
  detach(): void;
}

/** Parses `--secret NAME=FILE` values; checks the file is readable but never reads it. */
export function parseSecrets(values: readonly string[], cwd: string): SecretFile[] {
  const seen = new Set<string>();
  return values.map((value) => {
    const eq = value.indexOf('=');
    if (eq <= 0 || eq === value.length - 1) throw new Error(`--secret "${value}": expected NAME=FILE, e.g. --secret sops-age-key=$HOME/.config/sops/age/keys.txt`);
    const name = value.slice(0, eq);
    const file = value.slice(eq + 1);
    if (!CREDENTIAL_NAME.test(name)) throw new Error(`--secret ${name}: a credential name holds letters, digits, "_", ".", "@" and "-" only`);
    if (seen.has(name)) throw new Error(`--secret ${name}: given twice`);
    seen.add(name);
    const path = isAbsolute(file) ? file : resolve(cwd, file);
    try {
      accessSync(path, constants.R_OK);
      if (!statSync(path).isFile()) throw new Error('not a regular file');
    } catch (e) {
      const list = /,[A-Za-z0-9_][A-Za-z0-9_.@-]*=/.test(file) ? ' Give --secret once per credential: one value is one NAME=FILE, commas included.' : '';
      throw new Error(`--secret ${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).${list}`, { cause: e });
    }
    return { name, file: path };
  });
}

export function chooseAccelerator(wanted: Accelerator | 'auto' = 'auto', device?: string): { accel: Accelerator; warning?: string } {
  const kvm = kvmStatus(device);
  if (wanted === 'tcg') return { accel: 'tcg' };
  if (wanted === 'kvm') {
    if (!kvm.usable) throw new Error(`--accel kvm: KVM is not usable: ${kvm.reason}. Fix: ${kvm.fix}; or launch with --accel tcg.`);
    return { accel: 'kvm' };
  }
  if (kvm.usable) return { accel: 'kvm' };
  return { accel: 'tcg', warning: `KVM is not usable (${kvm.reason}): using TCG software emulation, which is much slower. Fix: ${kvm.fix}.` };
}

export function serviceUrls(profile: Profile, ports: readonly AssignedPort[]): ServiceUrl[] {
  return enabledServices(profile).map((s) => {
    const port = ports.find((p) => p.name === s.port)!;
    return { name: s.name, url: s.scheme === 'ssh' ? `ssh://127.0.0.1:${port.host}` : `${s.scheme}://127.0.0.1:${port.host}${s.path}` };
  });
}

function readinessProbe(profile: Profile, ports: readonly AssignedPort[]): Probe | undefined {
  const r = profile.readiness;
  if (!r) return undefined;
  const port = ports.find((p) => p.name === r.port)!;
  const tls = enabledServices(profile).some((s) => s.port === r.port && s.scheme === 'https');
  return { kind: r.probe, port: port.host, path: r.path, tls: r.probe === 'http' && tls, accept: httpStatusMatcher(r.acceptStatus) };
}

function rotate(file: string): void {
  if (existsSync(file)) renameSync(file, `${file}.1`);
}

const HOSTFWD_FAILURE = /Could not set up host forwarding rule '?tcp:127\.0\.0\.1:(\d+)/g;

/**
 * Takes the lock of the wanted instance, or of the first instance that is neither running nor being started
 * by someone else. The lock is held from this check until the new state is written.
 */
async function claimInstance(workspaceRoot: string, profile: string, wanted: string | undefined, purpose: string): Promise<{ info: InstanceInfo; lock: InstanceLock }> {
  for (let n = 1; ; n++) {
    const instance = wanted ?? (n === 1 ? DEFAULT_INSTANCE : `${DEFAULT_INSTANCE}-${n}`);
    const got = await tryLockInstance(instancePaths(workspaceRoot, profile, instance).dir, purpose);
    if ('owner' in got) {
      if (!wanted) continue;
      throw new InstanceBusyError(
        `${profile} instance "${instance}" is busy: ${describeOwner(got.owner)} is starting or stopping it. Wait for that to finish, or launch another instance (--instance NAME).`,
        got.owner,
      );
    }
    const info = inspectInstance(workspaceRoot, profile, instance);
    if (info.status !== 'running') return { info, lock: got.lock };
    await got.lock.release();
    if (wanted)
      throw new Error(`${profile} instance "${instance}" is already running (PID ${info.pid}). Stop it first: npx nx run ${profile}:stop --instance ${instance}`);
  }
}

/**
 * Starts the profile VM and waits until it is ready. QEMU runs in its own session, so a terminal's Ctrl-C
 * reaches only the launcher, which shuts it down gracefully. Leaves the VM running on return.
 */
export async function launchVm(options: LaunchVmOptions): Promise<RunningVm> {
  const { workspaceRoot, profile } = options;
  const log = options.log ?? (() => undefined);
  if (options.instance !== undefined && !INSTANCE_NAME.test(options.instance))
    throw new Error(`--instance "${options.instance}": use lower-case letters, digits and dashes (at most 31)`);
  const purpose = options.purpose ?? `launch of ${profile.name}`;
  const { info: before, lock } = await claimInstance(workspaceRoot, profile.name, options.instance, purpose);
  let started: Awaited<ReturnType<typeof startLocked>>;
  try {
    started = await startLocked(options, before);
  } finally {
    await lock.release();
  }
  const { state, paths, replaced, probe } = started;
  const { instance, pid, accel } = state;
  const timeoutMs = (options.readinessTimeoutSeconds ?? profile.readiness?.timeoutSeconds ?? 600) * 1000;
  const interrupted = () => options.signal?.aborted === true;
  const alive = () => isOurQemu(pid, paths.qmpSocket, paths.pidfile);
  if (interrupted()) {
    await stopVm(workspaceRoot, profile.name, instance, { graceSeconds: 0, purpose });
    throw new LaunchInterruptedError(`Interrupted while QEMU was starting; ${profile.name} instance "${instance}" was shut down. Logs kept in ${paths.dir}`);
  }
  let watcher: NodeJS.Timeout | undefined;
  const exited = new Promise<void>((done) => {
    watcher = setInterval(() => {
      if (alive()) return;
      clearInterval(watcher);
      done();
    }, 200);
  });
  try {
    const ready = await waitUntilReady({
      // An interruption ends the wait at once, as if QEMU had gone; the catch below tells them apart.
      isAlive: () => !interrupted() && alive(),
      qmpSocket: paths.qmpSocket,
      probe,
      timeoutMs,
      serialLog: paths.serialLog,
      qemuLog: paths.qemuLog,
      accel,
      onStage: (stage, detail) => log(`  ${stage}${detail ? `: ${detail}` : ''}`),
    });
    const readyState = { ...state, readyAt: new Date().toISOString() };
    const lock = await lockInstance(paths.dir, purpose, { waitMs: LOCK_WAIT_MS, what: `${profile.name} instance "${instance}"` });
    try {
      if (!alive()) throw new Error(`${profile.name} instance "${instance}" was stopped by another process just as it became ready.`);
      await recordOrStop(paths, readyState, { pid, pids: [pid], qmpSocket: paths.qmpSocket });
    } finally {
      await lock.release();
    }
    return {
      info: inspectInstance(workspaceRoot, profile.name, instance),
      state: readyState,
      paths,
      replacedPorts: replaced,
      stage: ready.stage,
      exited,
      detach: () => clearInterval(watcher),
    };
  } catch (e) {
    clearInterval(watcher);
    if (interrupted()) {
      const stopped = await stopVm(workspaceRoot, profile.name, instance, { graceSeconds: options.graceSeconds ?? DEFAULT_GRACE_SECONDS, log, purpose });
      throw new LaunchInterruptedError(
        `Interrupted before ${profile.name} instance "${instance}" was ready; the VM was shut down (${stopped.how}). Logs kept in ${paths.dir}`,
      );
    }
    await stopVm(workspaceRoot, profile.name, instance, { graceSeconds: 0, purpose }).catch(() => undefined);
    await recordExited(workspaceRoot, profile.name, instance).catch(() => undefined);
    throw e;
  }
}

/** Everything from the "is it running?" check until QEMU runs and its state is written, under the instance lock. */
async function startLocked(options: LaunchVmOptions, before: InstanceInfo) {
  const { profile } = options;
  const { instance, paths } = before;
  const log = options.log ?? (() => undefined);
  const warn = options.warn ?? log;
  if (before.status === 'broken') {
    warn(`Cleaning up instance "${instance}", which was left broken: ${before.reason}.`);
    cleanBrokenInstance(before);
  }
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });

  const { accel, warning } = chooseAccelerator(options.accel);
  if (warning) warn(warning);

  let boot: BootSpec;
  let base: string | undefined;
  const { storePath, image } = options.image;
  if (image.kind === 'disk') {
    base = join(storePath, image.file);
    const overlay = await prepareOverlay({ overlay: paths.overlay, base, baseFormat: image.format, fresh: options.fresh, diskGiB: profile.resources.diskGiB });
    overlay.warnings.forEach(warn);
    log(overlay.created ? `Created the disk ${paths.overlay} over ${base}.` : `Reusing the disk ${paths.overlay} (--fresh discards it).`);
    boot = { kind: 'disk', overlay: paths.overlay };
  } else {
    boot = { kind: 'kernel', kernel: join(storePath, image.kernel), initrd: join(storePath, image.initrd), cmdline: options.cmdline ?? image.cmdline };
  }

  const secrets = options.secrets ?? [];
  const avoid = new Set<number>();
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw new LaunchInterruptedError(`Interrupted before QEMU was started for ${profile.name} instance "${instance}".`);
    const allocation = await allocatePorts(profile.ports, { strict: options.strictPorts, avoid, isFree: options.portIsFree, profile: profile.name });
    for (const p of allocation.replaced) warn(`Host port ${p.requested} (${p.name}) is busy; using ${p.host} instead.`);
    const argv = qemuArgv({
      name: `${QEMU_NAME_PREFIX}${profile.name}-${instance}`,
      accel,
      memoryMiB: profile.resources.memoryMiB,
      cpus: profile.resources.cpus,
      boot,
      ports: allocation.ports,
      qmpSocket: paths.qmpSocket,
      serialLog: paths.serialLog,
      pidfile: paths.pidfile,
      daemonize: true,
      secrets,
    });
    rotate(paths.serialLog);
    rotate(paths.qemuLog);
    removeRuntimeFiles(paths);
    const binary = qemuBinary();
    const result = await startQemu(binary, argv, paths);
    if (result.code !== 0) {
      // A failed start leaves nothing that would make the instance look broken.
      const stray = findQemu(paths);
      if (stray) await shutdownQemu(stray, paths, { graceMs: 0 });
      removeRuntimeFiles(paths);
      const hostfwd = [...result.output.matchAll(HOSTFWD_FAILURE)].map((m) => Number(m[1]));
      if (hostfwd.length && !options.strictPorts && attempt < 4) {
        // Another process took the port between our check and QEMU's bind: pick others and retry.
        hostfwd.forEach((p) => avoid.add(p));
        warn(`QEMU could not bind port${hostfwd.length > 1 ? 's' : ''} ${hostfwd.join(', ')}; retrying with other ports.`);
        continue;
      }
      throw new Error(startFailure(binary, result, paths));
    }
    const qemu = findQemu(paths);
    if (!qemu) throw new Error(`QEMU reported a successful start, but no QEMU serves ${paths.qmpSocket}: it exited at once. See ${paths.serialLog} and ${paths.qemuLog}.`);
    const state: InstanceState = {
      stateVersion: 1,
      profile: profile.name,
      instance,
      pid: qemu.pid,
      accel,
      startedAt: new Date().toISOString(),
      ports: allocation.ports,
      urls: serviceUrls(profile, allocation.ports),
      qmpSocket: paths.qmpSocket,
      serialLog: paths.serialLog,
      qemuLog: paths.qemuLog,
      image: { storePath, kind: image.kind, ...(base ? { base } : {}) },
      ...(image.kind === 'disk' ? { overlay: paths.overlay } : {}),
      secrets: secrets.map((s) => ({ name: s.name, file: s.file })),
      command: [binary.path, ...argv],
    };
    await recordOrStop(paths, state, qemu);
    log(`Started QEMU (PID ${qemu.pid}, ${accel.toUpperCase()}) for ${profile.name} instance "${instance}"; serial log ${paths.serialLog}`);
    return { state, paths, replaced: allocation.replaced, probe: readinessProbe(profile, allocation.ports) };
  }
}

/** Writes the state of a running QEMU; when that fails (a full disk), QEMU is stopped rather than left running unrecorded. */
async function recordOrStop(paths: InstancePaths, state: InstanceState, qemu: FoundQemu): Promise<void> {
  try {
    writeState(paths, state);
  } catch (e) {
    await shutdownQemu(qemu, paths, { graceMs: 0 });
    try {
      removeRuntimeFiles(paths);
    } catch {
      // The state error below is the one to report.
    }
    const fix = (e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'Free some space on that disk' : 'Fix that';
    throw new Error(`${(e as Error).message}. QEMU (PID ${qemu.pid}) was stopped again: a VM whose state cannot be recorded is not left running. ${fix} and launch again.`, { cause: e });
  }
}

interface QemuStart {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the first QEMU process printed (it is also appended to qemu.log when that can be written). */
  output: string;
  /** Why qemu.log could not be written. */
  logError?: string;
}

/**
 * Runs QEMU with -daemonize: the first process exits once the VM is set up (non-zero if setup failed) and
 * the VM runs on outside our process tree, so Nx stopping the task (it signals the whole tree) cannot kill it
 * before the graceful shutdown has run. Its output is kept in memory too: on a full disk qemu.log stays empty.
 */
function startQemu(binary: { path: string; fromEnv: boolean }, argv: string[], paths: InstancePaths): Promise<QemuStart> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(binary.path, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let logError: string | undefined;
    const save = (chunk: Buffer | string) => {
      output += chunk.toString();
      try {
        appendFileSync(paths.qemuLog, chunk, { mode: 0o600 });
      } catch (e) {
        logError ??= (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
    };
    save('');
    child.stdout.on('data', save);
    child.stderr.on('data', save);
    child.once('error', (e: NodeJS.ErrnoException) => reject(spawnFailure(binary, e)));
    child.once('exit', (code, signal) => {
      const finish = () => resolvePromise({ code, signal, output, logError });
      // The daemon closes its copy of the pipes before the first process exits; a wrapper might not.
      const cap = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 2_000);
      child.once('close', () => {
        clearTimeout(cap);
        finish();
      });
    });
  });
}

const binaryName = (binary: { path: string; fromEnv: boolean }) => (binary.fromEnv ? `NX_NIXOS_QEMU=${binary.path}` : binary.path);

function spawnFailure(binary: { path: string; fromEnv: boolean }, e: NodeJS.ErrnoException): Error {
  if (e.code === 'ENOENT')
    return new Error(
      binary.fromEnv
        ? `NX_NIXOS_QEMU=${binary.path}: no such program. Point NX_NIXOS_QEMU at a QEMU system emulator (e.g. /usr/bin/qemu-system-x86_64), or unset it to use qemu-system-x86_64 from PATH.`
        : `${binary.path} was not found on PATH. Install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86), or set NX_NIXOS_QEMU to its path.`,
    );
  if (e.code === 'EACCES') return new Error(`${binaryName(binary)}: not an executable program (EACCES).`);
  return new Error(`${binaryName(binary)} could not be started: ${e.message}`);
}

function startFailure(binary: { path: string; fromEnv: boolean }, result: QemuStart, paths: InstancePaths): string {
  const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
  const said = result.output.trim();
  const lines = [`QEMU failed to start: ${binaryName(binary)} ${how}${said ? ' and said:' : ' without printing anything.'}`];
  if (said) lines.push(said.split('\n').slice(-15).join('\n'));
  if (result.logError) lines.push(`Its output could not be saved to ${paths.qemuLog} (${result.logError}).`);
  else if (said) lines.push(`Full output: ${paths.qemuLog}`);
  if (!said && binary.fromEnv) lines.push('NX_NIXOS_QEMU is set: check that it names a QEMU system emulator, or unset it to use qemu-system-x86_64 from PATH.');
  return lines.join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Shuts a QEMU down: QMP system_powerdown and up to `graceMs` for the guest to power off, then QMP quit,
 * then SIGTERM, then SIGKILL. Only processes whose /proc/<pid>/cmdline is still this instance's QEMU are signalled.
 */
async function shutdownQemu(qemu: FoundQemu, paths: InstancePaths, options: { graceMs: number; log?: (line: string) => void }): Promise<StopHow> {
  const log = options.log ?? (() => undefined);
  const ours = () => qemu.pids.filter((pid) => isOurQemuArgs(processArgs(pid), [qemu.qmpSocket], paths.pidfile));
  const gone = async (ms: number) => {
    for (const deadline = Date.now() + ms; ; await sleep(50)) {
      if (ours().length === 0) return true;
      if (Date.now() >= deadline) return false;
    }
  };
  if (options.graceMs > 0) {
    try {
      await qmpOnce(qemu.qmpSocket, 'system_powerdown', undefined, 2_000);
      log(`Asked the guest to power down (up to ${options.graceMs / 1000} s).`);
      if (await gone(options.graceMs)) return 'powerdown';
    } catch (e) {
      log(`QMP system_powerdown failed (${(e as Error).message}).`);
    }
  }
  try {
    await qmpOnce(qemu.qmpSocket, 'quit', undefined, 2_000);
  } catch {
    // QEMU may close the socket before replying to quit; only its exit counts.
  }
  if (await gone(3_000)) return 'quit';
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const pids = ours();
    if (pids.length) log(`QEMU did not quit; sending ${signal} to PID ${pids.join(', ')}.`);
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone meanwhile.
      }
    }
    if (await gone(signal === 'SIGTERM' ? 3_000 : 5_000)) break;
  }
  return 'kill';
}

export interface StopResult {
  how: StopHow | 'not-running';
  /** Milliseconds from the request to QEMU being gone. */
  ms: number;
  /** The instance as found before stopping (e.g. broken, with its reason). */
  before: InstanceInfo;
  info: InstanceInfo;
}

/**
 * Graceful stop of whatever QEMU serves the instance, found in /proc (a lost pidfile or a damaged state.json does
 * not hide it), under the instance lock. Removes pidfile and socket; keeps logs, disk and state.json.
 */
export async function stopVm(
  workspaceRoot: string,
  profileName: string,
  instance = DEFAULT_INSTANCE,
  options: { graceSeconds?: number; log?: (line: string) => void; purpose?: string } = {},
): Promise<StopResult> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const paths = instancePaths(workspaceRoot, profileName, instance);
  const what = `${profileName} instance "${instance}"`;
  const lock = await lockInstance(paths.dir, options.purpose ?? `stop of ${profileName}`, {
    waitMs: LOCK_WAIT_MS,
    what,
    onWait: (owner) => log(`Waiting for ${describeOwner(owner)}, which is starting or stopping ${what}...`),
  });
  try {
    const before = inspectInstance(workspaceRoot, profileName, instance);
    if (before.status !== 'running' || !before.qemu) {
      if (before.status === 'broken') cleanBrokenInstance(before);
      return { how: 'not-running', ms: Date.now() - started, before, info: inspectInstance(workspaceRoot, profileName, instance) };
    }
    const graceMs = (options.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
    log(`Stopping ${profileName} "${instance}" (PID ${before.pid}): powerdown, up to ${graceMs / 1000} s...`);
    for (const note of before.notes ?? []) log(`(${note})`);
    const how = await shutdownQemu(before.qemu, paths, { graceMs, log });
    removeRuntimeFiles(paths, before.qemu.qmpSocket);
    if (before.state) writeState(paths, { ...before.state, stoppedAt: new Date().toISOString(), stoppedHow: how });
    return { how, ms: Date.now() - started, before, info: inspectInstance(workspaceRoot, profileName, instance) };
  } finally {
    await lock.release();
  }
}

/** Records that QEMU exited on its own, unless another process is already recording a stop. */
export async function recordExited(workspaceRoot: string, profileName: string, instance: string): Promise<void> {
  const paths = instancePaths(workspaceRoot, profileName, instance);
  const lock = await lockInstance(paths.dir, `record of ${profileName}`, { waitMs: LOCK_WAIT_MS, what: `${profileName} instance "${instance}"` });
  try {
    if (!findQemu(paths, readState(paths))) finishExited(paths);
  } finally {
    await lock.release();
  }
}

/** Removes the leftovers of a broken instance (never signals anything); says why not when it is busy. */
export async function cleanInstance(workspaceRoot: string, profileName: string, instance: string, purpose: string): Promise<InstanceInfo> {
  const paths = instancePaths(workspaceRoot, profileName, instance);
  const got = await tryLockInstance(paths.dir, purpose);
  if ('owner' in got)
    throw new InstanceBusyError(`${profileName} instance "${instance}" is busy: ${describeOwner(got.owner)} is starting or stopping it; left as it is.`, got.owner);
  try {
    const info = inspectInstance(workspaceRoot, profileName, instance);
    cleanBrokenInstance(info);
    return info;
  } finally {
    await got.lock.release();
  }
}
