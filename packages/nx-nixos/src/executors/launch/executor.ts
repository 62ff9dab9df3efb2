import type { ExecutorContext } from '@nx/devkit';
import type { NixSharingOptions } from '../../nix/copy';
import { isSameProcess, jobAncestors, processArgs } from '../../qemu/proc';
import { profileOf, reportErrors } from '../shared/profile';

/** The binary-cache and builder options apply when the image must be realised (substituted or rebuilt). */
export interface LaunchExecutorOptions extends NixSharingOptions {
  flakeRef?: string;
  instance?: string;
  detach?: boolean;
  accel?: 'kvm' | 'tcg' | 'auto';
  strictPorts?: boolean;
  fresh?: boolean;
  secret?: string | string[];
  graceSeconds?: number;
  readinessTimeoutSeconds?: number;
  offline?: boolean;
}

const asList = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Watches for the signals that end a launch (Ctrl-C, Nx stopping the task, a closed terminal), from the start,
 * so an interruption while the image is realised or the VM boots still shuts the VM down.
 * The handlers stay installed: Nx signals the task more than once, and a second, unhandled SIGTERM would kill
 * the launcher in the middle of the shutdown.
 */
function watchForStop(): { signal: AbortSignal; reason: () => string | undefined; watchJob(): void; dispose(): void } {
  const controller = new AbortController();
  let reason: string | undefined;
  const stop = (why: string) => {
    if (reason) return;
    reason = why;
    controller.abort();
  };
  const onSignal = (signal: NodeJS.Signals) => stop(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  signals.forEach((s) => process.on(s, onSignal));
  let jobWatch: NodeJS.Timeout | undefined;
  return {
    signal: controller.signal,
    reason: () => reason,
    // A signal may reach only one process of the command the user started (an IDE or CI runner signals npx
    // alone; Nx may exit on Ctrl-C before it signals its tasks): when any of them ends, so does the launch.
    watchJob() {
      const job = jobAncestors().map((p) => ({ ...p, command: processArgs(p.pid).join(' ').slice(0, 80) }));
      jobWatch = setInterval(() => {
        const gone = job.find((p) => !isSameProcess(p));
        if (gone) stop(`"${gone.command}" (PID ${gone.pid}) exited`);
      }, 250);
    },
    dispose() {
      clearInterval(jobWatch);
      signals.forEach((s) => process.off(s, onSignal));
    },
  };
}

export default async function launchExecutor(options: LaunchExecutorOptions, context: ExecutorContext) {
  return reportErrors('launch', async () => {
    if (options.detach && context.target?.continuous)
      throw new Error(
        `--detach does not work on the continuous target ${context.projectName}:${context.targetName}: Nx fails a continuous task that returns. ` +
          `Start the VM in the background with: npx nx run ${context.projectName}:start`,
      );
    const { ensureImage } = await import('../../nix/image');
    const { sharingFromOptions } = await import('../../nix/copy');
    const { launchVm, parseSecrets, recordExited, stopVm, DEFAULT_GRACE_SECONDS, LaunchInterruptedError } = await import('../../qemu/vm');
    const { formatPorts, formatUrls } = await import('../../qemu/status');
    const profile = profileOf(context);
    // Relative paths are relative to where nx was invoked.
    const secrets = parseSecrets(asList(options.secret), context.cwd ?? process.cwd());
    const log = (line: string) => console.log(line);
    const warn = (line: string) => console.warn(`warning: ${line}`);
    const grace = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
    const purpose = `nx run ${context.projectName}:${context.targetName}`;
    const stopWatch = watchForStop();
    // On Ctrl-C, Nx may exit and close our output before the shutdown is done: it must finish anyway.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    stopWatch.watchJob();
    try {
      const { substituters, trustedPublicKeys, builders, maxJobs, systemFeatures } = options;
      const { sharing } = sharingFromOptions({ substituters, trustedPublicKeys, builders, maxJobs, systemFeatures });
      const image = await ensureImage({ workspaceRoot: context.root, profile, flakeRef: options.flakeRef, offline: options.offline, sharing, log, progress: process.stderr });
      if (image.how !== 'present') log(`Image ${image.how}: ${image.storePath}`);
      let vm: Awaited<ReturnType<typeof launchVm>>;
      try {
        vm = await launchVm({
          workspaceRoot: context.root,
          profile,
          image: { storePath: image.storePath, image: image.manifest.image },
          instance: options.instance,
          accel: options.accel,
          strictPorts: options.strictPorts,
          fresh: options.fresh,
          secrets,
          readinessTimeoutSeconds: options.readinessTimeoutSeconds,
          signal: stopWatch.signal,
          graceSeconds: grace,
          purpose,
          log,
          warn,
        });
      } catch (e) {
        if (e instanceof LaunchInterruptedError) throw new Error(`${stopWatch.reason()}: ${e.message}`, { cause: e });
        throw e;
      }
      const { state } = vm;
      const instanceFlag = state.instance === 'default' ? '' : ` --instance ${state.instance}`;
      console.log(`\n${profile.name} is ready (instance "${state.instance}", ${state.accel.toUpperCase()}). Ports: ${formatPorts(state.ports) || 'none'}`);
      if (state.urls.length) console.log(formatUrls(state.urls).join('\n'));
      console.log(`Serial log: ${state.serialLog}`);

      if (options.detach) {
        vm.detach();
        console.log(`Running in the background. Stop it with: npx nx run ${profile.name}:stop${instanceFlag}`);
        return true;
      }

      console.log('Press Ctrl-C to shut it down.');
      const stopped = await new Promise<boolean>((resolve) => {
        if (stopWatch.signal.aborted) return resolve(true);
        stopWatch.signal.addEventListener('abort', () => resolve(true));
        void vm.exited.then(() => resolve(false));
      });
      if (stopped) {
        console.log(`\n${stopWatch.reason()}: shutting ${profile.name} down (powerdown, up to ${grace} s)...`);
        const result = await stopVm(context.root, profile.name, state.instance, { graceSeconds: grace, log, purpose });
        console.log(`${profile.name} stopped (${result.how}, ${(result.ms / 1000).toFixed(1)} s). Logs kept in ${vm.paths.dir}`);
        return true;
      }
      await recordExited(context.root, profile.name, state.instance);
      console.log(`${profile.name}: QEMU exited (the guest powered off). Logs kept in ${vm.paths.dir}`);
      return true;
    } finally {
      stopWatch.dispose();
    }
  });
}
