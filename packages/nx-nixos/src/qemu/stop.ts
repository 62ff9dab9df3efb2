import {
  DEFAULT_INSTANCE,
  cleanBrokenInstance,
  finishExited,
  findQemu,
  inspectInstance,
  instancePaths,
  isOurQemuArgs,
  readState,
  removeRuntimeFiles,
  writeState,
  type FoundQemu,
  type InstanceInfo,
  type InstancePaths,
  type StopHow,
} from './instance';
import { describeOwner, InstanceBusyError, LOCK_WAIT_MS, lockInstance, tryLockInstance } from './lock';
import { processArgs } from './proc';
import { qmpOnce } from './qmp';

export const DEFAULT_GRACE_SECONDS = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Shuts a QEMU down: QMP system_powerdown and up to `graceMs` for the guest to power off, then QMP quit,
 * then SIGTERM, then SIGKILL. Only processes whose /proc/<pid>/cmdline is still this instance's QEMU are signalled.
 */
export async function shutdownQemu(qemu: FoundQemu, paths: InstancePaths, options: { graceMs: number; log?: (line: string) => void }): Promise<StopHow> {
  const log = options.log ?? (() => undefined);
  const ours = () => qemu.pids.filter((pid) => isOurQemuArgs(processArgs(pid), [qemu.qmpSocket], paths.pidfile));
  const gone = async (ms: number) => {
    for (const deadline = Date.now() + ms; ; await sleep(50)) {
      if (ours().length === 0) return true;
      if (Date.now() >= deadline) return false;
    }
  };
  if (options.graceMs > 0 && (await powerDown(qemu.qmpSocket, options.graceMs, gone, log))) return 'powerdown';
  try {
    await qmpOnce(qemu.qmpSocket, 'quit', undefined, 2_000);
  } catch {
    // QEMU may close the socket before replying to quit; only its exit counts.
  }
  if (await gone(3_000)) return 'quit';
  await kill(ours, gone, log);
  return 'kill';
}

/** Asks the guest to power off and waits up to `graceMs`; true when QEMU is gone. */
async function powerDown(qmpSocket: string, graceMs: number, gone: (ms: number) => Promise<boolean>, log: (line: string) => void): Promise<boolean> {
  try {
    await qmpOnce(qmpSocket, 'system_powerdown', undefined, 2_000);
    log(`Asked the guest to power down (up to ${graceMs / 1000} s).`);
    return await gone(graceMs);
  } catch (e) {
    log(`QMP system_powerdown failed (${(e as Error).message}).`);
    return false;
  }
}

async function kill(ours: () => number[], gone: (ms: number) => Promise<boolean>, log: (line: string) => void): Promise<void> {
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
    if (await gone(signal === 'SIGTERM' ? 3_000 : 5_000)) return;
  }
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
