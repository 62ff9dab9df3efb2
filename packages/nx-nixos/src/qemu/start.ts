import { existsSync, mkdirSync, realpathSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Profile } from '../profile/schema';
import { chooseAccelerator } from './accel';
import type { Accelerator, BootSpec, SecretFile } from './argv';
import { devVmInstanceEnvironment, instanceArgv, prepareBoot, prepareDevVm, type BootImage } from './boot';
import { daemonizeQemu, qemuBinary, startDetached, startFailure, unboundHostPorts, type QemuBinary } from './daemonize';
import { processArgs, processesWithEnv } from './proc';
import { qmpOnce } from './qmp';
import {
  DEFAULT_INSTANCE,
  INSTANCE_NAME,
  cleanBrokenInstance,
  findQemu,
  inspectInstance,
  instancePaths,
  removeRuntimeFiles,
  writeState,
  type FoundQemu,
  type InstanceInfo,
  type InstancePaths,
  type InstanceState,
} from './instance';
import { describeOwner, InstanceBusyError, tryLockInstance, type InstanceLock } from './lock';
import { allocatePorts, type AssignedPort, type PortAllocation } from './ports';
import type { Probe } from './readiness';
import { readinessProbe, serviceUrls } from './services';
import { shutdownQemu } from './stop';
import { ensureSshIdentity, hostKeyAlias, SSH_GUEST_PORT, sshFiles } from '../ssh/ssh';

export interface StartOptions {
  workspaceRoot: string;
  profile: Profile;
  image: BootImage;
  /** Instance name; default: "default", or the next free one when that runs or is being started. */
  instance?: string;
  accel?: Accelerator | 'auto';
  strictPorts?: boolean;
  fresh?: boolean;
  secrets?: readonly SecretFile[];
  /** Overrides the kernel command line (kernel images only). */
  cmdline?: string;
  log?: (line: string) => void;
  warn?: (line: string) => void;
  /** How a host port is checked before QEMU binds it; isPortFree by default. */
  portIsFree?: (port: number) => Promise<boolean>;
  /** Aborted (e.g. on Ctrl-C): no further start attempt is made. */
  signal?: AbortSignal;
}

/** Launch was interrupted before the VM was ready; the VM has been shut down. */
export class LaunchInterruptedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchInterruptedError';
  }
}

/** A QEMU that runs and whose state is recorded. */
export interface StartedVm {
  state: InstanceState;
  paths: InstancePaths;
  replacedPorts: AssignedPort[];
  probe?: Probe;
}

/** Claims the instance and starts its QEMU; the instance lock is held from the claim until the state is written. */
export async function startVm(options: StartOptions, purpose: string): Promise<StartedVm> {
  if (options.instance !== undefined && !INSTANCE_NAME.test(options.instance))
    throw new Error(`--instance "${options.instance}": use lower-case letters, digits and dashes (at most 31)`);
  const { info, lock } = await claimInstance(options.workspaceRoot, options.profile.name, options.instance, purpose);
  try {
    return await startClaimed(options, info);
  } finally {
    await lock.release();
  }
}

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

/** What every start attempt needs, settled before the first one. */
interface StartPlan {
  profile: Profile;
  instance: string;
  paths: InstancePaths;
  accel: Accelerator;
  /** An image's boot, or a development VM's run script (which builds its own QEMU command line). */
  boot: BootSpec | { kind: 'dev-vm'; runScript: string };
  secrets: readonly SecretFile[];
  strictPorts?: boolean;
  portIsFree?: (port: number) => Promise<boolean>;
  signal?: AbortSignal;
  warn: (line: string) => void;
}

async function startClaimed(options: StartOptions, before: InstanceInfo): Promise<StartedVm> {
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
  const { image } = options.image;
  let boot: StartPlan['boot'];
  let base: string | undefined;
  if (image.kind === 'dev-vm') {
    prepareDevVm(paths, { fresh: options.fresh, log });
    boot = { kind: 'dev-vm', runScript: join(options.image.storePath, image.runScript) };
  } else {
    ({ boot, base } = await prepareBoot({ storePath: options.image.storePath, image }, paths, { fresh: options.fresh, diskGiB: profile.resources.diskGiB, cmdline: options.cmdline, log, warn }));
  }
  const secrets = options.secrets ?? [];
  const ssh = sshIdentity(profile, instance, paths, warn);
  const plan: StartPlan = { profile, instance, paths, accel, boot, secrets: [...secrets, ...(ssh?.credentials ?? [])], strictPorts: options.strictPorts, portIsFree: options.portIsFree, signal: options.signal, warn };
  const { qemu, allocation, binary, argv } = await startWithPortRetry(plan);
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
    image: { storePath: options.image.storePath, kind: image.kind, ...(base ? { base } : {}), ...(image.kind === 'dev-vm' ? { runScript: image.runScript } : {}) },
    ...(image.kind === 'disk' ? { overlay: paths.overlay } : {}),
    ...(image.kind === 'dev-vm' ? { devDisk: paths.devDisk } : {}),
    secrets: secrets.map((s) => ({ name: s.name, file: s.file })),
    ...(ssh ? { ssh: ssh.state } : {}),
    command: [binary.path, ...argv],
  };
  await recordOrStop(paths, state, qemu);
  log(`Started QEMU (PID ${qemu.pid}, ${accel.toUpperCase()}) for ${profile.name} instance "${instance}"; serial log ${paths.serialLog}`);
  return { state, paths, replacedPorts: allocation.replaced, probe: readinessProbe(profile, allocation.ports) };
}

/**
 * The instance's SSH identity, when the profile forwards the guest's SSH port: the key pairs are made once
 * and kept with the instance. Without ssh-keygen the VM still starts, without it.
 */
function sshIdentity(profile: Profile, instance: string, paths: InstancePaths, warn: (line: string) => void) {
  if (!profile.ports.some((p) => p.guest === SSH_GUEST_PORT)) return undefined;
  const files = sshFiles(paths.dir);
  const alias = hostKeyAlias(profile.name, instance);
  try {
    const { credentials } = ensureSshIdentity(files, alias);
    return { credentials, state: { key: files.key, knownHosts: files.knownHosts, hostKeyAlias: alias } };
  } catch (e) {
    warn(`No SSH identity for ${profile.name} instance "${instance}": ${(e as Error).message}`);
    return undefined;
  }
}

/** Starts QEMU; when another process took a forwarded port between our check and QEMU's bind, picks others and retries. */
async function startWithPortRetry(plan: StartPlan): Promise<{ qemu: FoundQemu; allocation: PortAllocation; binary: QemuBinary; argv: string[] }> {
  const { profile, instance, paths, warn } = plan;
  const avoid = new Set<number>();
  for (let attempt = 1; ; attempt++) {
    if (plan.signal?.aborted) throw new LaunchInterruptedError(`Interrupted before QEMU was started for ${profile.name} instance "${instance}".`);
    const allocation = await allocatePorts(profile.ports, { strict: plan.strictPorts, avoid, isFree: plan.portIsFree, profile: profile.name });
    for (const p of allocation.replaced) warn(`Host port ${p.requested} (${p.name}) is busy; using ${p.host} instead.`);
    const { boot } = plan;
    const binary: QemuBinary = boot.kind === 'dev-vm' ? { path: boot.runScript, fromEnv: false } : qemuBinary();
    let argv: string[] = [];
    let result;
    if (boot.kind === 'dev-vm') {
      const env = devVmInstanceEnvironment({ ...plan, ports: allocation.ports });
      result = await startRunScript(boot.runScript, env, paths);
    } else {
      argv = instanceArgv({ ...plan, boot, ports: allocation.ports });
      result = await startQemu(binary, argv, paths);
    }
    if (result.code === 0) {
      const qemu = foundAfterStart(paths);
      // A run script builds the command line: record the one QEMU runs.
      if (boot.kind === 'dev-vm') [binary.path, ...argv] = processArgs(qemu.pid);
      return { qemu, allocation, binary, argv };
    }
    // A failed start leaves nothing that would make the instance look broken.
    const stray = findQemu(paths);
    if (stray) await shutdownQemu(stray, paths, { graceMs: 0 });
    removeRuntimeFiles(paths);
    const unbound = unboundHostPorts(result.output);
    if (unbound.length && !plan.strictPorts && attempt < 4) {
      unbound.forEach((p) => avoid.add(p));
      warn(`QEMU could not bind port${unbound.length > 1 ? 's' : ''} ${unbound.join(', ')}; retrying with other ports.`);
      continue;
    }
    throw new Error(startFailure(binary, result, paths.qemuLog));
  }
}

/** One start: the previous run's logs are kept as *.1, its pidfile and socket go. */
function startQemu(binary: QemuBinary, argv: string[], paths: InstancePaths) {
  rotateLog(paths.serialLog);
  rotateLog(paths.qemuLog);
  removeRuntimeFiles(paths);
  return daemonizeQemu(binary, argv, paths.qemuLog);
}

/** One start of a development VM's run script, with the same log rotation; up once QEMU answers on QMP. */
function startRunScript(runScript: string, env: Record<string, string>, paths: InstancePaths) {
  rotateLog(paths.serialLog);
  rotateLog(paths.qemuLog);
  removeRuntimeFiles(paths);
  const isUp = async () => existsSync(paths.qmpSocket) && findQemu(paths) !== undefined && (await qmpOnce(paths.qmpSocket, 'query-status', undefined, 1_000).then(() => true));
  // Every process of this start (the script, qemu-img, then QEMU, which the script execs) carries the instance's disk in its environment.
  // The script may resolve symlinks in it (readlink -f), so both spellings count.
  const disks = [...new Set([env.NIX_DISK_IMAGE, join(realpathSync(dirname(env.NIX_DISK_IMAGE)), basename(env.NIX_DISK_IMAGE))])];
  const isRunning = () => disks.some((disk) => processesWithEnv('NIX_DISK_IMAGE', disk).length > 0);
  return startDetached(runScript, env, paths.qemuLog, { isUp, isRunning });
}

function rotateLog(file: string): void {
  if (existsSync(file)) renameSync(file, `${file}.1`);
}

function foundAfterStart(paths: InstancePaths): FoundQemu {
  const qemu = findQemu(paths);
  if (!qemu) throw new Error(`QEMU reported a successful start, but no QEMU serves ${paths.qmpSocket}: it exited at once. See ${paths.serialLog} and ${paths.qemuLog}.`);
  return qemu;
}

/** Writes the state of a running QEMU; when that fails (a full disk), QEMU is stopped rather than left running unrecorded. */
export async function recordOrStop(paths: InstancePaths, state: InstanceState, qemu: FoundQemu): Promise<void> {
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
