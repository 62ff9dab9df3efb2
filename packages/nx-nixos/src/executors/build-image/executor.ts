import type { ExecutorContext } from '@nx/devkit';
import { buildSummary } from '../../nix/build';
import { sharingFromOptions, type SharingExecutorOptions } from '../../nix/copy';
import { buildImage } from '../../nix/image';
import { formatBytes } from '../../nix/progress-render';
import { UP_TO_DATE } from '../../nix/vm-test';
import { imageManifestFile } from '../../layout';
import { profileOf, projectRootOf, reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

export interface BuildImageOptions extends SharingExecutorOptions {
  flakeRef?: string;
  offline?: boolean;
  extraArgs?: string[];
  verbose?: boolean;
}

export default async function buildImageExecutor(options: BuildImageOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'build-image', async () => {
    useWorkspaceOf(context);
    const profile = profileOf(context);
    const { sharing, push: pushTarget } = sharingFromOptions(options);
    const { manifest, build, push } = await buildImage({
      sharing,
      push: pushTarget,
      workspaceRoot: context.root,
      profile,
      profileDir: projectRootOf(context),
      flakeRef: options.flakeRef,
      offline: options.offline,
      extraArgs: options.extraArgs,
      verbose: options.verbose,
      progress: process.stderr,
    });
    const upToDate = build.monitor.finished.length === 0 && build.monitor.substituted.size === 0;
    if (upToDate) console.log(`${profile.name}: ${UP_TO_DATE}`);
    console.log(`${profile.name}: ${buildSummary(build.monitor)}; image ${formatBytes(manifest.sizeBytes)}`);
    console.log(`  ${manifest.storePath}`);
    console.log(`  manifest: ${imageManifestFile(profile.name)}`);
    if (push?.ok) console.log(`  pushed to ${pushTarget?.to} in ${push.seconds.toFixed(1)}s`);
    return true;
  });
}
