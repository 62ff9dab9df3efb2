import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { buildSummary } from '../../nix/build';
import { pushToCache, sharingFromOptions } from '../../nix/copy';
import { buildImages, type BatchImage, type ImageManifest } from '../../nix/image';
import { formatBytes } from '../../nix/progress-render';
import { UP_TO_DATE } from '../../nix/vm-test';
import { imageManifestFile } from '../../layout';
import { runBatchTasks, yieldResults, type BatchOutcome, type BatchResults } from '../shared/batch';
import { profileOf, projectRootOf } from '../shared/profile';
import type { BuildImageOptions } from './executor';

interface BuiltImage {
  manifest: ImageManifest;
  /** Derivations this build built for the image (0: up to date). */
  built: number;
  /** What the whole build did, and how many profiles it built. */
  summary: string;
}

/**
 * `nx run-many -t build-image --batch`: the images of all profiles of the batch from one evaluation and one
 * `nix build --keep-going`. Every task still gets its own manifest, out-link, output and status.
 */
function runBatch(taskGraph: TaskGraph, inputs: Record<string, BuildImageOptions>, context: ExecutorContext): Promise<BatchResults> {
  return runBatchTasks<BuildImageOptions, BatchImage, BuiltImage>(taskGraph, inputs, context, {
    what: 'profile(s)',
    nameOf: (image) => image.profile.name,
    prepare(key, options, ctx, output) {
      sharingFromOptions(options);
      return { key, profile: profileOf(ctx), profileDir: projectRootOf(ctx), flakeRef: options.flakeRef, warn: output.log };
    },
    async build(images, options, logFile) {
      const { outcomes, monitor } = await buildImages(images, {
        workspaceRoot: context.root,
        offline: options.offline,
        extraArgs: options.extraArgs,
        verbose: options.verbose,
        sharing: sharingFromOptions(options).sharing,
        progress: process.stderr,
        logFile,
      });
      const summary = `in a batch of ${images.length} profiles (${monitor ? buildSummary(monitor) : 'nothing built'})`;
      return new Map([...outcomes].map(([key, outcome]): [string, BatchOutcome<BuiltImage>] => [key, outcome.ok ? { ...outcome, summary } : outcome]));
    },
    async report(image, { manifest, built, summary }, output) {
      const name = image.profile.name;
      if (built === 0) output.log(`${name}: ${UP_TO_DATE}`);
      output.log(`${name}: built ${built} derivation(s) ${summary}; image ${formatBytes(manifest.sizeBytes)}`);
      output.log(`  ${manifest.storePath}`);
      output.log(`  manifest: ${imageManifestFile(name)}`);
      const { push } = sharingFromOptions(inputs[image.key]);
      if (push) {
        const pushed = await pushToCache({ cwd: context.root, paths: [manifest.storePath], ...push });
        output.log(pushed.ok ? `  pushed to ${push.to} in ${pushed.seconds.toFixed(1)}s` : `warning: the image was built but not pushed to ${push.to}: ${pushed.reason}`);
      }
      return true;
    },
  });
}

/** Nx's batch implementation: every task's result comes with its own output, printed under the task. */
export default function buildImageBatch(taskGraph: TaskGraph, inputs: Record<string, BuildImageOptions>, _overrides: unknown, context: ExecutorContext) {
  return yieldResults(runBatch(taskGraph, inputs, context));
}
