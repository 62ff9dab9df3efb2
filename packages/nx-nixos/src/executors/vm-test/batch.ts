import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { relative } from 'node:path';
import { sharingFromOptions } from '../../nix/copy';
import { runVmTestBatch, type BatchVmTestSubject, type VmTestResult } from '../../nix/vm-test';
import { profileFile } from '../../layout';
import { runBatchTasks, yieldResults, type BatchResults } from '../shared/batch';
import { profileOf, projectRootOf } from '../shared/profile';
import type { VmTestExecutorOptions } from './executor';

/**
 * `nx run-many -t vm-test --batch`: the VM tests of all projects of the batch from one evaluation and one
 * `nix build --keep-going`. Every task still gets its own JUnit report, results, output and status.
 */
function runBatch(taskGraph: TaskGraph, inputs: Record<string, VmTestExecutorOptions>, context: ExecutorContext): Promise<BatchResults> {
  return runBatchTasks<VmTestExecutorOptions, BatchVmTestSubject, { result: VmTestResult }>(taskGraph, inputs, context, {
    what: 'project(s)',
    nameOf: (subject) => taskGraph.tasks[subject.key].target.project,
    prepare(key, options, ctx, output) {
      if (options.interactive) throw new Error('--interactive runs one terminal session; it cannot run in a batch. Run the task alone, without --batch.');
      const { sharing, push } = sharingFromOptions(options);
      const common = { key, log: output.log, warn: output.log, workspaceRoot: context.root, flakeRef: options.flakeRef, offline: options.offline };
      const rest = { extraArgs: options.extraArgs, kvmPreflight: options.kvmPreflight, verbose: options.verbose, sharing, push };
      if (options.checks) {
        return { ...common, ...rest, subject: { kind: 'checks', project: ctx.projectName ?? projectRootOf(ctx), system: options.system ?? 'x86_64-linux', checks: options.checks } };
      }
      const profile = profileOf(ctx);
      if (profile.tests.length === 0) output.log(`${profile.name}: no VM tests declared ("tests" in ${profileFile(projectRootOf(ctx))} is empty).`);
      return { ...common, ...rest, subject: { kind: 'profile', profile, profileDir: projectRootOf(ctx), withImage: options.withImage } };
    },
    build: (subjects, options, logFile) =>
      runVmTestBatch(subjects, {
        workspaceRoot: context.root,
        offline: options.offline,
        extraArgs: options.extraArgs,
        verbose: options.verbose,
        sharing: sharingFromOptions(options).sharing,
        progress: process.stderr,
        logFile,
      }),
    report(subject, { result: { cases, junitFile } }, output) {
      const failed = cases.filter((c) => c.failure);
      const name = subject.subject.kind === 'profile' ? subject.subject.profile.name : subject.subject.project;
      output.log(`${name}: ${cases.length - failed.length}/${cases.length} VM test(s) passed; JUnit report: ${relative(context.root, junitFile)}`);
      return failed.length === 0;
    },
  });
}

/** Nx's batch implementation: every task's result comes with its own output, printed under the task. */
export default function vmTestBatch(taskGraph: TaskGraph, inputs: Record<string, VmTestExecutorOptions>, _overrides: unknown, context: ExecutorContext) {
  return yieldResults(runBatch(taskGraph, inputs, context));
}
