import { isOurQemu, inspectInstance, type InstanceInfo, type InstancePaths, type InstanceState } from './instance';
import { LOCK_WAIT_MS, lockInstance } from './lock';
import type { AssignedPort } from './ports';
import { waitUntilReady, type Stage } from './readiness';
import { LaunchInterruptedError, recordOrStop, startVm, type StartedVm, type StartOptions } from './start';
import { DEFAULT_GRACE_SECONDS, recordExited, stopVm } from './stop';

export interface LaunchVmOptions extends StartOptions {
  /** Overrides profile.readiness.timeoutSeconds. */
  readinessTimeoutSeconds?: number;
  /** Aborted (e.g. on Ctrl-C) before the VM is ready: stop waiting and shut it down. */
  signal?: AbortSignal;
  /** Grace for that shutdown; DEFAULT_GRACE_SECONDS by default. */
  graceSeconds?: number;
  /** Who is launching, as a second launcher or stop names it, e.g. "nx run development:start". */
  purpose?: string;
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

/**
 * Starts the profile VM and waits until it is ready. QEMU runs in its own session, so a terminal's Ctrl-C
 * reaches only the launcher, which shuts it down gracefully. Leaves the VM running on return.
 */
export async function launchVm(options: LaunchVmOptions): Promise<RunningVm> {
  const { workspaceRoot, profile } = options;
  const purpose = options.purpose ?? `launch of ${profile.name}`;
  const started = await startVm(options, purpose);
  const { state, paths } = started;
  if (options.signal?.aborted) {
    await stopVm(workspaceRoot, profile.name, state.instance, { graceSeconds: 0, purpose });
    throw new LaunchInterruptedError(`Interrupted while QEMU was starting; ${profile.name} instance "${state.instance}" was shut down. Logs kept in ${paths.dir}`);
  }
  const alive = () => isOurQemu(state.pid, paths.qmpSocket, paths.pidfile);
  const exit = watchExit(alive);
  try {
    const stage = await waitForReadiness(options, started, alive);
    const readyState = await recordReady(started, purpose, alive);
    return {
      info: inspectInstance(workspaceRoot, profile.name, state.instance),
      state: readyState,
      paths,
      replacedPorts: started.replacedPorts,
      stage,
      exited: exit.exited,
      detach: exit.stop,
    };
  } catch (e) {
    exit.stop();
    throw await shutDownUnready(options, started, purpose, e);
  }
}

/** `exited` resolves when QEMU is gone; `stop` ends the watch (and lets this process exit while QEMU runs). */
function watchExit(alive: () => boolean): { exited: Promise<void>; stop: () => void } {
  let watcher: NodeJS.Timeout | undefined;
  const exited = new Promise<void>((done) => {
    watcher = setInterval(() => {
      if (alive()) return;
      clearInterval(watcher);
      done();
    }, 200);
  });
  return { exited, stop: () => clearInterval(watcher) };
}

async function waitForReadiness(options: LaunchVmOptions, { state, paths, probe }: StartedVm, alive: () => boolean): Promise<Stage> {
  const log = options.log ?? (() => undefined);
  const ready = await waitUntilReady({
    // An interruption ends the wait at once, as if QEMU had gone; shutDownUnready tells them apart.
    isAlive: () => options.signal?.aborted !== true && alive(),
    qmpSocket: paths.qmpSocket,
    probe,
    timeoutMs: (options.readinessTimeoutSeconds ?? options.profile.readiness?.timeoutSeconds ?? 600) * 1000,
    serialLog: paths.serialLog,
    qemuLog: paths.qemuLog,
    accel: state.accel,
    onStage: (stage, detail) => log(`  ${stage}${detail ? `: ${detail}` : ''}`),
  });
  return ready.stage;
}

/** Adds readyAt to the state, under the instance lock, unless another process stopped the VM meanwhile. */
async function recordReady({ state, paths }: StartedVm, purpose: string, alive: () => boolean): Promise<InstanceState> {
  const what = `${state.profile} instance "${state.instance}"`;
  const readyState = { ...state, readyAt: new Date().toISOString() };
  const lock = await lockInstance(paths.dir, purpose, { waitMs: LOCK_WAIT_MS, what });
  try {
    if (!alive()) throw new Error(`${what} was stopped by another process just as it became ready.`);
    await recordOrStop(paths, readyState, { pid: state.pid, pids: [state.pid], qmpSocket: paths.qmpSocket });
  } finally {
    await lock.release();
  }
  return readyState;
}

/** Shuts down a VM that did not become ready: gracefully when interrupted, at once after a failure. Returns the error to throw. */
async function shutDownUnready(options: LaunchVmOptions, { state, paths }: StartedVm, purpose: string, error: unknown): Promise<unknown> {
  const { workspaceRoot, profile } = options;
  if (options.signal?.aborted) {
    const graceSeconds = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
    const stopped = await stopVm(workspaceRoot, profile.name, state.instance, { graceSeconds, log: options.log, purpose });
    return new LaunchInterruptedError(`Interrupted before ${profile.name} instance "${state.instance}" was ready; the VM was shut down (${stopped.how}). Logs kept in ${paths.dir}`);
  }
  await stopVm(workspaceRoot, profile.name, state.instance, { graceSeconds: 0, purpose }).catch(() => undefined);
  await recordExited(workspaceRoot, profile.name, state.instance).catch(() => undefined);
  return error;
}
