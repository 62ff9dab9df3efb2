import type { ExecutorContext } from '@nx/devkit';
import { profileOf, reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

export interface SecretsExecutorOptions {
  instance?: string;
  secret?: string | string[];
}

const asList = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The how-to section that says what a guest must provide. */
const HOOK_DOCS = 'docs/how-to/work-inside-a-running-vm.md#install-secrets-into-a-running-vm';

export default async function secretsExecutor(options: SecretsExecutorOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'secrets', async () => {
    const plugin = useWorkspaceOf(context);
    const { parseSecrets } = await import('../../qemu/secrets');
    const { listInstances } = await import('../../qemu/instance');
    const { sshTargetOf } = await import('../../ssh/instance-target');
    const { installSecrets, readSecret, RELOAD_HOOK } = await import('../../ssh/credentials');
    const profile = profileOf(context);
    // Relative paths are relative to where nx was invoked, as for launch.
    const secrets = parseSecrets(asList(options.secret), context.cwd ?? process.cwd());
    if (secrets.length === 0)
      throw new Error(`Nothing to install: give --secret NAME=FILE once per credential, e.g. npx nx run ${profile.name}:${context.targetName} --secret sops-age-key=$HOME/.config/sops/age/keys.txt`);
    // Every file is read (and checked) before anything reaches the guest.
    const contents = secrets.map((secret) => ({ name: secret.name, content: readSecret(secret) }));
    const target = sshTargetOf(profile, listInstances(context.root, profile.name), options.instance, {
      start: `npx nx run ${profile.name}:${plugin.startTargetName}`,
      status: `npx nx run ${profile.name}:${plugin.statusTargetName}`,
    });
    console.log(`Installing ${secrets.map((s) => s.name).join(', ')} into the running ${profile.name} VM (${target.alias}):`);
    const outcome = await installSecrets(target, contents, (line, stream) => (stream === 'stdout' ? console.log(line) : console.error(line)));
    if (outcome.code === 0) return true;
    if (outcome.hookMissing)
      throw new Error(
        `The ${profile.name} guest has no ${RELOAD_HOOK} on its PATH, so it cannot apply secrets while it runs; nothing was installed. ` +
          `A NixOS guest gets it from the RAVE module security.rave.sopsBootstrap (rebuild the image and start it again); any other guest needs a program of that name: see ${HOOK_DOCS}.`,
      );
    if (outcome.code === 255) throw new Error(`ssh could not reach ${profile.name} (exit 255): see the message above. Check the connection with: npx nx run ${profile.name}:${plugin.sshTargetName} -- true`);
    throw new Error(`The guest's ${RELOAD_HOOK} exited with status ${outcome.code}: see its message above.`);
  });
}
