import { isSameProcess, jobAncestors, processArgs } from '../../qemu/proc';

export interface StopWatch {
  /** Aborted at the first signal (or job exit). */
  signal: AbortSignal;
  /** What ended the run, e.g. "SIGINT"; undefined until then. */
  reason(): string | undefined;
  /** Also ends the run when any process of the job that started this one exits. */
  watchJob(): void;
  dispose(): void;
}

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Watches for the signals that end a run (Ctrl-C, Nx stopping the task, a closed terminal), from the start,
 * so an interruption while the image is realised or the VM boots still shuts the VM down.
 * The handlers stay installed until dispose: Nx signals the task more than once, and a second, unhandled
 * SIGTERM would kill the launcher in the middle of the shutdown.
 */
export function watchForStop(signals: Pick<NodeJS.EventEmitter, 'on' | 'off'> = process): StopWatch {
  const controller = new AbortController();
  let reason: string | undefined;
  const stop = (why: string) => {
    if (reason) return;
    reason = why;
    controller.abort();
  };
  const onSignal = (signal: NodeJS.Signals) => stop(signal);
  STOP_SIGNALS.forEach((s) => signals.on(s, onSignal));
  let jobWatch: NodeJS.Timeout | undefined;
  return {
    signal: controller.signal,
    reason: () => reason,
    // A signal may reach only one process of the command the user started (an IDE or CI runner signals npx
    // alone; Nx may exit on Ctrl-C before it signals its tasks): when any of them ends, so does the run.
    watchJob() {
      const job = jobAncestors().map((p) => ({ ...p, command: processArgs(p.pid).join(' ').slice(0, 80) }));
      jobWatch = setInterval(() => {
        const gone = job.find((p) => !isSameProcess(p));
        if (gone) stop(`"${gone.command}" (PID ${gone.pid}) exited`);
      }, 250);
    },
    dispose() {
      clearInterval(jobWatch);
      STOP_SIGNALS.forEach((s) => signals.off(s, onSignal));
    },
  };
}
