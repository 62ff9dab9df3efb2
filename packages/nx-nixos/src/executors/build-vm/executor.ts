import type { ExecutorContext } from '@nx/devkit';
import { buildSummary } from '../../nix/build';
import { sharingFromOptions, type NixSharingOptions } from '../../nix/copy';
import { buildDevVm } from '../../nix/dev-vm';
import { UP_TO_DATE } from '../../nix/vm-test';
import { devVmManifestFile } from '../../layout';
import { profileOf, projectRootOf, reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

export interface BuildVmOptions extends NixSharingOptions {
  flakeRef?: string;
  offline?: boolean;
  extraArgs?: string[];
  verbose?: boolean;
}

export default async function buildVmExecutor(options: BuildVmOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'build-vm', async () => {
    useWorkspaceOf(context);
    const profile = profileOf(context);
    const { sharing } = sharingFromOptions(options);
    const { manifest, build } = await buildDevVm({
      workspaceRoot: context.root,
      profile,
      profileDir: projectRootOf(context),
      flakeRef: options.flakeRef,
      offline: options.offline,
      extraArgs: options.extraArgs,
      verbose: options.verbose,
      sharing,
      progress: process.stderr,
    });
    const built = build.monitor.finished.map((b) => b.name);
    if (built.length === 0 && build.monitor.substituted.size === 0) console.log(`${profile.name}: ${UP_TO_DATE}`);
    console.log(`${profile.name}: development VM ${buildSummary(build.monitor)}${built.length ? ` (${built.sort().join(', ')})` : ''}; no disk image`);
    console.log(`  ${manifest.storePath}/${manifest.runScript}`);
    console.log(`  manifest: ${devVmManifestFile(profile.name)}`);
    return true;
  });
}
