import type { ExecutorContext } from '@nx/devkit';
import type { NixSharingOptions } from '../../nix/copy';
import type { Profile } from '../../profile/schema';
import type { SecretFile } from '../../qemu/argv';
import type { BootImage } from '../../qemu/boot';
import type { RunningVm } from '../../qemu/launch';
import { profileOf, projectRootOf, reportErrors } from '../shared/profile';
import { watchForStop, type StopWatch } from '../shared/watch-for-stop';
import { useWorkspaceOf } from '../shared/workspace';

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
  /** Run the development VM that build-vm built (its run script) instead of the image. */
  devVm?: boolean;
}

const asList = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const log = (line: string) => console.log(line);
const warn = (line: string) => console.warn(`warning: ${line}`);

/** One run of the executor: what every step of it needs. */
interface LaunchRun {
  options: LaunchExecutorOptions;
  context: ExecutorContext;
  profile: Profile;
  stopWatch: StopWatch;
  graceSeconds: number;
  /** How a second launcher or stop names this run. */
  purpose: string;
}

export default async function launchExecutor(options: LaunchExecutorOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'launch', async () => {
    const plugin = useWorkspaceOf(context);
    if (options.detach && context.target?.continuous)
      throw new Error(
        `--detach does not work on the continuous target ${context.projectName}:${context.targetName}: Nx fails a continuous task that returns. ` +
          `Start the VM in the background with: npx nx run ${context.projectName}:${options.devVm ? plugin.startVmTargetName : 'start'}`,
      );
    const { parseSecrets } = await import('../../qemu/secrets');
    const { DEFAULT_GRACE_SECONDS } = await import('../../qemu/stop');
    const profile = profileOf(context);
    // Relative paths are relative to where nx was invoked.
    const secrets = parseSecrets(asList(options.secret), context.cwd ?? process.cwd());
    const stopWatch = watchForStop();
    // On Ctrl-C, Nx may exit and close our output before the shutdown is done: it must finish anyway.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    stopWatch.watchJob();
    const run: LaunchRun = {
      options,
      context,
      profile,
      stopWatch,
      graceSeconds: options.graceSeconds ?? DEFAULT_GRACE_SECONDS,
      purpose: `nx run ${context.projectName}:${context.targetName}`,
    };
    try {
      const vm = await startProfileVm(run, secrets);
      await printReady(vm, plugin.sshTargetName);
      if (!options.detach) return await stayUntilStopped(run, vm);
      vm.detach();
      const instanceFlag = vm.state.instance === 'default' ? '' : ` --instance ${vm.state.instance}`;
      console.log(`Running in the background. Stop it with: npx nx run ${profile.name}:stop${instanceFlag}`);
      return true;
    } finally {
      stopWatch.dispose();
    }
  });
}

/** Realises the image when it is missing, then launches it; an interruption is reported with what caused it. */
async function startProfileVm({ options, context, profile, stopWatch, graceSeconds, purpose }: LaunchRun, secrets: SecretFile[]): Promise<RunningVm> {
  const { sharingFromOptions } = await import('../../nix/copy');
  const { launchVm } = await import('../../qemu/launch');
  const { LaunchInterruptedError } = await import('../../qemu/start');
  const { substituters, trustedPublicKeys, builders, maxJobs, systemFeatures } = options;
  const { sharing } = sharingFromOptions({ substituters, trustedPublicKeys, builders, maxJobs, systemFeatures });
  const build = { workspaceRoot: context.root, profile, profileDir: projectRootOf(context), flakeRef: options.flakeRef, offline: options.offline, sharing, log, progress: process.stderr };
  const image = options.devVm ? await devVmToBoot(build) : await imageToBoot(build);
  try {
    return await launchVm({
      workspaceRoot: context.root,
      profile,
      image,
      instance: options.instance,
      accel: options.accel,
      strictPorts: options.strictPorts,
      fresh: options.fresh,
      secrets,
      readinessTimeoutSeconds: options.readinessTimeoutSeconds,
      signal: stopWatch.signal,
      graceSeconds,
      purpose,
      log,
      warn,
    });
  } catch (e) {
    if (e instanceof LaunchInterruptedError) throw new Error(`${stopWatch.reason()}: ${e.message}`, { cause: e });
    throw e;
  }
}

type BootSource = Parameters<typeof import('../../nix/image').ensureImage>[0];

async function imageToBoot(build: BootSource): Promise<BootImage> {
  const { ensureImage, imageAvailabilityLine } = await import('../../nix/image');
  const image = await ensureImage(build);
  if (image.how !== 'present') log(imageAvailabilityLine(image));
  return { storePath: image.storePath, image: image.manifest.image };
}

/** The run script build-vm built (rebuilt when its store path is missing here); it boots with the host's store. */
async function devVmToBoot(build: BootSource): Promise<BootImage> {
  const { ensureDevVm } = await import('../../nix/dev-vm');
  const { manifest } = await ensureDevVm(build);
  log(`Development VM: ${manifest.storePath}/${manifest.runScript}`);
  return { storePath: manifest.storePath, image: { kind: 'dev-vm', runScript: manifest.runScript } };
}

async function printReady({ state }: RunningVm, sshTargetName: string): Promise<void> {
  const { formatPorts, formatUrls } = await import('../../qemu/status');
  console.log(`\n${state.profile} is ready (instance "${state.instance}", ${state.accel.toUpperCase()}). Ports: ${formatPorts(state.ports) || 'none'}`);
  if (state.urls.length) console.log(formatUrls(state.urls).join('\n'));
  if (state.ssh) console.log(`Shell: npx nx run ${state.profile}:${sshTargetName}${state.instance === 'default' ? '' : ` --instance ${state.instance}`}`);
  console.log(`Serial log: ${state.serialLog}`);
}

/** Keeps the VM in the foreground: a stop request shuts it down gracefully; a guest that powers off is recorded. */
async function stayUntilStopped({ context, profile, stopWatch, graceSeconds, purpose }: LaunchRun, vm: RunningVm): Promise<boolean> {
  const { recordExited, stopVm } = await import('../../qemu/stop');
  const { state } = vm;
  console.log('Press Ctrl-C to shut it down.');
  const stopped = await new Promise<boolean>((resolve) => {
    if (stopWatch.signal.aborted) return resolve(true);
    stopWatch.signal.addEventListener('abort', () => resolve(true));
    void vm.exited.then(() => resolve(false));
  });
  if (stopped) {
    console.log(`\n${stopWatch.reason()}: shutting ${profile.name} down (powerdown, up to ${graceSeconds} s)...`);
    const result = await stopVm(context.root, profile.name, state.instance, { graceSeconds, log, purpose });
    console.log(`${profile.name} stopped (${result.how}, ${(result.ms / 1000).toFixed(1)} s). Logs kept in ${vm.paths.dir}`);
    return true;
  }
  await recordExited(context.root, profile.name, state.instance);
  console.log(`${profile.name}: QEMU exited (the guest powered off). Logs kept in ${vm.paths.dir}`);
  return true;
}
