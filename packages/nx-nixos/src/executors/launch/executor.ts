import type { ExecutorContext } from '@nx/devkit';
import type { NixSharingOptions } from '../../nix/copy';
import { profileOf, reportErrors } from '../shared/profile';

/** The binary-cache and builder options apply when the image must be realised (substituted or rebuilt). */
export interface LaunchOptions extends NixSharingOptions {
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

export default async function launchExecutor(options: LaunchOptions, context: ExecutorContext) {
  return reportErrors('launch', async () => {
    const { ensureImage } = await import('../../nix/image');
    const { sharingFromOptions } = await import('../../nix/copy');
    const { launchVm, parseSecrets, stopVm, DEFAULT_GRACE_SECONDS } = await import('../../qemu/vm');
    const { finishExited } = await import('../../qemu/instance');
    const { formatPorts, formatUrls } = await import('../../qemu/status');
    const profile = profileOf(context);
    // Relative paths are relative to where nx was invoked.
    const secrets = parseSecrets(asList(options.secret), context.cwd ?? process.cwd());
    const log = (line: string) => console.log(line);
    const warn = (line: string) => console.warn(`warning: ${line}`);
    const { substituters, trustedPublicKeys, builders, maxJobs, systemFeatures } = options;
    const { sharing } = sharingFromOptions({ substituters, trustedPublicKeys, builders, maxJobs, systemFeatures });
    const image = await ensureImage({ workspaceRoot: context.root, profile, flakeRef: options.flakeRef, offline: options.offline, sharing, log, progress: process.stderr });
    if (image.how !== 'present') log(`Image ${image.how}: ${image.storePath}`);
    const vm = await launchVm({
      workspaceRoot: context.root,
      profile,
      image: { storePath: image.storePath, image: image.manifest.image },
      instance: options.instance,
      accel: options.accel,
      strictPorts: options.strictPorts,
      fresh: options.fresh,
      secrets,
      readinessTimeoutSeconds: options.readinessTimeoutSeconds,
      log,
      warn,
    });
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
    // On Ctrl-C, Nx may exit and close our output before the shutdown is done: it must finish anyway.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    const grace = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
    // Handlers stay installed: Nx signals the task more than once, and a second, unhandled SIGTERM
    // would kill the launcher in the middle of the shutdown.
    let stopping = false;
    const signalled = await new Promise<NodeJS.Signals | undefined>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        resolve(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      vm.exited.then(() => resolve(undefined));
    });
    if (signalled) {
      console.log(`\n${signalled}: shutting ${profile.name} down (powerdown, up to ${grace} s)...`);
      const result = await stopVm(context.root, profile.name, state.instance, { graceSeconds: grace, log });
      console.log(`${profile.name} stopped (${result.how}, ${(result.ms / 1000).toFixed(1)} s). Logs kept in ${vm.paths.dir}`);
      return true;
    }
    finishExited(vm.paths);
    console.log(`${profile.name}: QEMU exited (the guest powered off). Logs kept in ${vm.paths.dir}`);
    return true;
  });
}
