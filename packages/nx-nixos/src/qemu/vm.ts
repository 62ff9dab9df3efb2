import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { kvmStatus } from '../host/kvm';
import { enabledServices, type Profile } from '../profile/schema';
import { CREDENTIAL_NAME, qemuArgv, type Accelerator, type BootSpec, type SecretFile } from './argv';
import { prepareOverlay } from './disk';
import {
  DEFAULT_INSTANCE,
  INSTANCE_NAME,
  cleanBrokenInstance,
  freeInstanceName,
  inspectInstance,
  instancePaths,
  isOurQemu,
  readPidfile,
  readState,
  removeRuntimeFiles,
  writeState,
  type InstanceInfo,
  type InstancePaths,
  type InstanceState,
  type ServiceUrl,
  type StopHow,
} from './instance';
import { allocatePorts, type AssignedPort } from './ports';
import { qmpOnce } from './qmp';
import { NotReadyError, waitUntilReady, type Probe, type Stage } from './readiness';

export const QEMU_BINARY = process.env.NX_NIXOS_QEMU ?? 'qemu-system-x86_64';
export const DEFAULT_GRACE_SECONDS = 30;

/** The image to boot: a store path and what it holds (from the build manifest). */
export interface BootImage {
  storePath: string;
  image: { kind: 'disk'; format: 'qcow2' | 'raw'; file: string } | { kind: 'kernel'; kernel: string; initrd: string; cmdline: string };
}

export interface LaunchOptions {
  workspaceRoot: string;
  profile: Profile;
  image: BootImage;
  /** Instance name; default: "default", or the next free one when that runs. */
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
      throw new Error(`--secret ${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
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
  return { kind: r.probe, port: port.host, path: r.path, tls: r.probe === 'http' && tls };
}

function rotate(file: string): void {
  if (existsSync(file)) renameSync(file, `${file}.1`);
}

const HOSTFWD_FAILURE = /Could not set up host forwarding rule '?tcp:127\.0\.0\.1:(\d+)/g;

/**
 * Starts the profile VM and waits until it is ready. QEMU runs in its own session, so a terminal's Ctrl-C
 * reaches only the launcher, which shuts it down gracefully. Leaves the VM running on return.
 */
export async function launchVm(options: LaunchOptions): Promise<RunningVm> {
  const { workspaceRoot, profile } = options;
  const log = options.log ?? (() => undefined);
  const warn = options.warn ?? log;
  if (options.instance !== undefined && !INSTANCE_NAME.test(options.instance))
    throw new Error(`--instance "${options.instance}": use lower-case letters, digits and dashes (at most 31)`);
  const instance = options.instance ?? freeInstanceName(workspaceRoot, profile.name);
  const before = inspectInstance(workspaceRoot, profile.name, instance);
  if (before.status === 'running')
    throw new Error(`${profile.name} instance "${instance}" is already running (PID ${before.pid}). Stop it first: npx nx run ${profile.name}:stop --instance ${instance}`);
  if (before.status === 'broken') {
    warn(`Cleaning up instance "${instance}", which was left broken: ${before.reason}.`);
    cleanBrokenInstance(before);
  }
  const paths = instancePaths(workspaceRoot, profile.name, instance);
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
  const timeoutMs = (options.readinessTimeoutSeconds ?? profile.readiness?.timeoutSeconds ?? 600) * 1000;
  const avoid = new Set<number>();
  const interrupted = () => options.signal?.aborted === true;
  for (let attempt = 1; ; attempt++) {
    if (interrupted()) throw new LaunchInterruptedError(`Interrupted before QEMU was started for ${profile.name} instance "${instance}".`);
    const allocation = await allocatePorts(profile.ports, { strict: options.strictPorts, avoid, isFree: options.portIsFree });
    for (const p of allocation.replaced) warn(`Host port ${p.requested} (${p.name}) is busy; using ${p.host} instead.`);
    const argv = qemuArgv({
      name: `nx-nixos-${profile.name}-${instance}`,
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
    rmSync(paths.qmpSocket, { force: true });
    rmSync(paths.pidfile, { force: true });
    const code = await startQemu(argv, paths);
    if (code !== 0) {
      const said = readText(paths.qemuLog).trim();
      const hostfwd = [...said.matchAll(HOSTFWD_FAILURE)].map((m) => Number(m[1]));
      if (hostfwd.length && !options.strictPorts && attempt < 4) {
        // Another process took the port between our check and QEMU's bind: pick others and retry.
        hostfwd.forEach((p) => avoid.add(p));
        warn(`QEMU could not bind port${hostfwd.length > 1 ? 's' : ''} ${hostfwd.join(', ')}; retrying with other ports.`);
        continue;
      }
      throw new Error(`QEMU failed to start (exit ${code}).${said ? `\nQEMU said:\n${said.split('\n').slice(-15).join('\n')}` : ''}\nFull output: ${paths.qemuLog}`);
    }
    const pid = readPidfile(paths);
    if (pid === undefined) throw new Error(`QEMU started but wrote no pidfile ${paths.pidfile}; see ${paths.qemuLog}`);
    const urls = serviceUrls(profile, allocation.ports);
    const state: InstanceState = {
      stateVersion: 1,
      profile: profile.name,
      instance,
      pid,
      accel,
      startedAt: new Date().toISOString(),
      ports: allocation.ports,
      urls,
      qmpSocket: paths.qmpSocket,
      serialLog: paths.serialLog,
      qemuLog: paths.qemuLog,
      image: { storePath, kind: image.kind, ...(base ? { base } : {}) },
      ...(image.kind === 'disk' ? { overlay: paths.overlay } : {}),
      secrets: secrets.map((s) => ({ name: s.name, file: s.file })),
      command: [QEMU_BINARY, ...argv],
    };
    writeState(paths, state);
    log(`Started QEMU (PID ${pid}, ${accel.toUpperCase()}) for ${profile.name} instance "${instance}"; serial log ${paths.serialLog}`);
    const alive = () => isOurQemu(pid, paths.qmpSocket);
    if (interrupted()) {
      await stopVm(workspaceRoot, profile.name, instance, { graceSeconds: 0 });
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
        probe: readinessProbe(profile, allocation.ports),
        timeoutMs,
        serialLog: paths.serialLog,
        qemuLog: paths.qemuLog,
        accel,
        onStage: (stage, detail) => log(`  ${stage}${detail ? `: ${detail}` : ''}`),
      });
      const readyState = { ...state, readyAt: new Date().toISOString() };
      writeState(paths, readyState);
      return {
        info: inspectInstance(workspaceRoot, profile.name, instance),
        state: readyState,
        paths,
        replacedPorts: allocation.replaced,
        stage: ready.stage,
        exited,
        detach: () => clearInterval(watcher),
      };
    } catch (e) {
      clearInterval(watcher);
      if (interrupted()) {
        const stopped = await stopVm(workspaceRoot, profile.name, instance, { graceSeconds: options.graceSeconds ?? DEFAULT_GRACE_SECONDS, log });
        throw new LaunchInterruptedError(
          `Interrupted before ${profile.name} instance "${instance}" was ready; the VM was shut down (${stopped.how}). Logs kept in ${paths.dir}`,
        );
      }
      await stopVm(workspaceRoot, profile.name, instance, { graceSeconds: 0 }).catch(() => undefined);
      finishStopped(paths, readState(paths) ?? state, 'exited');
      throw e;
    }
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Runs QEMU with -daemonize: the first process exits once the VM is set up (non-zero if setup failed) and
 * the VM runs on outside our process tree, so Nx stopping the task (it signals the whole tree) cannot kill it
 * before the graceful shutdown has run. Resolves to that first process's exit code.
 */
function startQemu(argv: string[], paths: InstancePaths): Promise<number> {
  const out = openSync(paths.qemuLog, 'a', 0o600);
  try {
    const child = spawn(QEMU_BINARY, argv, { detached: true, stdio: ['ignore', out, out] });
    return new Promise((resolve, reject) => {
      child.once('error', (e) =>
        reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(`${QEMU_BINARY} not found on PATH: apt-get install qemu-system-x86`) : e),
      );
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    closeSync(out);
  }
}

function finishStopped(paths: InstancePaths, state: InstanceState, how: StopHow): void {
  removeRuntimeFiles(paths, state.qmpSocket);
  writeState(paths, { ...state, stoppedAt: state.stoppedAt ?? new Date().toISOString(), stoppedHow: state.stoppedHow ?? how });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, qmpSocket: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!isOurQemu(pid, qmpSocket)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

export interface StopResult {
  how: StopHow | 'not-running';
  /** Milliseconds from the request to QEMU being gone. */
  ms: number;
  info: InstanceInfo;
}

/**
 * Graceful stop: QMP system_powerdown, up to `graceSeconds` for the guest to power off, then QMP quit,
 * then SIGKILL. Only a PID whose /proc/<pid>/cmdline is this instance's QEMU is ever signalled.
 * Removes pidfile and socket; keeps logs, disk and state.json.
 */
export async function stopVm(
  workspaceRoot: string,
  profileName: string,
  instance = DEFAULT_INSTANCE,
  options: { graceSeconds?: number; log?: (line: string) => void } = {},
): Promise<StopResult> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const info = inspectInstance(workspaceRoot, profileName, instance);
  const paths = info.paths;
  const state = info.state ?? readState(paths);
  const pid = readPidfile(paths);
  if (info.status !== 'running' || !state || pid === undefined) {
    if (info.status === 'broken') cleanBrokenInstance(info);
    return { how: 'not-running', ms: Date.now() - started, info: inspectInstance(workspaceRoot, profileName, instance) };
  }
  const graceMs = (options.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  let how: StopHow | undefined;
  if (graceMs > 0) {
    try {
      await qmpOnce(state.qmpSocket, 'system_powerdown', undefined, 2_000);
      log(`Asked the guest to power down (up to ${graceMs / 1000} s).`);
      if (await waitGone(pid, state.qmpSocket, graceMs)) how = 'powerdown';
    } catch (e) {
      log(`QMP system_powerdown failed (${(e as Error).message}).`);
    }
  }
  if (!how) {
    try {
      await qmpOnce(state.qmpSocket, 'quit', undefined, 2_000);
    } catch {
      // QEMU may close the socket before replying to quit; only its exit counts.
    }
    if (await waitGone(pid, state.qmpSocket, 3_000)) how = 'quit';
  }
  if (!how) {
    if (isOurQemu(pid, state.qmpSocket)) {
      log(`QEMU did not quit; killing PID ${pid}.`);
      process.kill(pid, 'SIGKILL');
    }
    await waitGone(pid, state.qmpSocket, 5_000);
    how = 'kill';
  }
  finishStopped(paths, { ...state, stoppedAt: undefined, stoppedHow: undefined }, how);
  return { how, ms: Date.now() - started, info: inspectInstance(workspaceRoot, profileName, instance) };
}
