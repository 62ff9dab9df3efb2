import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { buildSummary } from '../../nix/build';
import { pushToCache, sharingFromOptions } from '../../nix/copy';
import { buildImages, type BatchImage } from '../../nix/image';
import { formatBytes } from '../../nix/progress-render';
import { UP_TO_DATE } from '../../nix/vm-test';
import { batchLogFile, imageManifestFile, inWorkspace } from '../../layout';
import { groupTasks, taskContext, TaskOutput, yieldResults, type BatchResults } from '../shared/batch';
import { profileOf, projectRootOf } from '../shared/profile';
import type { BuildImageOptions } from './executor';

/**
 * `nx run-many -t build-image --batch`: the images of all profiles of the batch from one evaluation and one
 * `nix build --keep-going`. Every task still gets its own manifest, out-link, output and status.
 */
async function runBatch(taskGraph: TaskGraph, inputs: Record<string, BuildImageOptions>, _overrides: unknown, context: ExecutorContext): Promise<BatchResults> {
  const results: BatchResults = {};
  for (const taskIds of groupTasks(inputs)) {
    const outputs = new Map(taskIds.map((id) => [id, new TaskOutput()]));
    const images: BatchImage[] = [];
    for (const id of taskIds) {
      const output = outputs.get(id)!;
      try {
        const ctx = taskContext(context, taskGraph, id);
        sharingFromOptions(inputs[id]);
        images.push({ key: id, profile: profileOf(ctx), profileDir: projectRootOf(ctx), flakeRef: inputs[id].flakeRef, warn: output.log });
      } catch (e) {
        output.fail(taskGraph.tasks[id].target.target, e);
        results[id] = output.result(false);
      }
    }
    if (!images.length) continue;
    const options = inputs[images[0].key];
    const { sharing } = sharingFromOptions(options);
    const target = taskGraph.tasks[images[0].key].target.target;
    process.stderr.write(`${target}: ${images.length} profile(s) in one nix build: ${images.map((i) => i.profile.name).join(', ')}\n`);
    const { outcomes, monitor } = await buildImages(images, {
      workspaceRoot: context.root,
      offline: options.offline,
      extraArgs: options.extraArgs,
      verbose: options.verbose,
      sharing,
      progress: process.stderr,
      logFile: inWorkspace(context.root, batchLogFile(target)),
    });
    for (const image of images) {
      const output = outputs.get(image.key)!;
      const outcome = outcomes.get(image.key);
      if (!outcome?.ok) {
        output.fail(target, outcome?.error ?? new Error('no result'));
        results[image.key] = output.result(false);
        continue;
      }
      const { manifest, built } = outcome;
      const name = image.profile.name;
      if (built === 0) output.log(`${name}: ${UP_TO_DATE}`);
      output.log(`${name}: built ${built} derivation(s) in a batch of ${images.length} profiles (${monitor ? buildSummary(monitor) : 'nothing built'}); image ${formatBytes(manifest.sizeBytes)}`);
      output.log(`  ${manifest.storePath}`);
      output.log(`  manifest: ${imageManifestFile(name)}`);
      const { push } = sharingFromOptions(inputs[image.key]);
      if (push) {
        const pushed = await pushToCache({ cwd: context.root, paths: [manifest.storePath], ...push });
        output.log(pushed.ok ? `  pushed to ${push.to} in ${pushed.seconds.toFixed(1)}s` : `warning: the image was built but not pushed to ${push.to}: ${pushed.reason}`);
      }
      results[image.key] = output.result(true);
    }
  }
  return results;
}

/** Nx's batch implementation: every task's result comes with its own output, printed under the task. */
export default function buildImageBatch(taskGraph: TaskGraph, inputs: Record<string, BuildImageOptions>, overrides: unknown, context: ExecutorContext) {
  return yieldResults(runBatch(taskGraph, inputs, overrides, context));
}
