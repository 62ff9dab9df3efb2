import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { relative } from 'node:path';
import { sharingFromOptions } from '../../nix/copy';
import { runVmTestBatch, type BatchVmTestSubject } from '../../nix/vm-test';
import { batchLogFile, inWorkspace, profileFile } from '../../layout';
import { groupTasks, taskContext, TaskOutput, yieldResults, type BatchResults } from '../shared/batch';
import { profileOf, projectRootOf } from '../shared/profile';
import type { VmTestExecutorOptions } from './executor';

/**
 * `nx run-many -t vm-test --batch`: the VM tests of all projects of the batch from one evaluation and one
 * `nix build --keep-going`. Every task still gets its own JUnit report, results, output and status.
 */
async function runBatch(taskGraph: TaskGraph, inputs: Record<string, VmTestExecutorOptions>, _overrides: unknown, context: ExecutorContext): Promise<BatchResults> {
  const results: BatchResults = {};
  for (const taskIds of groupTasks(inputs)) {
    const outputs = new Map(taskIds.map((id) => [id, new TaskOutput()]));
    const subjects: BatchVmTestSubject[] = [];
    for (const id of taskIds) {
      const output = outputs.get(id)!;
      const options = inputs[id];
      try {
        if (options.interactive) throw new Error('--interactive runs one terminal session; it cannot run in a batch. Run the task alone, without --batch.');
        const ctx = taskContext(context, taskGraph, id);
        const { sharing, push } = sharingFromOptions(options);
        const common = { key: id, log: output.log, warn: output.log, workspaceRoot: context.root, flakeRef: options.flakeRef, offline: options.offline };
        const rest = { extraArgs: options.extraArgs, kvmPreflight: options.kvmPreflight, verbose: options.verbose, sharing, push };
        if (options.checks) {
          subjects.push({ ...common, ...rest, subject: { kind: 'checks', project: ctx.projectName ?? projectRootOf(ctx), system: options.system ?? 'x86_64-linux', checks: options.checks } });
        } else {
          const profile = profileOf(ctx);
          if (profile.tests.length === 0) output.log(`${profile.name}: no VM tests declared ("tests" in ${profileFile(projectRootOf(ctx))} is empty).`);
          subjects.push({ ...common, ...rest, subject: { kind: 'profile', profile, profileDir: projectRootOf(ctx), withImage: options.withImage } });
        }
      } catch (e) {
        output.fail(taskGraph.tasks[id].target.target, e);
        results[id] = output.result(false);
      }
    }
    if (!subjects.length) continue;
    const options = inputs[subjects[0].key];
    const target = taskGraph.tasks[subjects[0].key].target.target;
    process.stderr.write(`${target}: ${subjects.length} project(s) in one nix build: ${subjects.map((s) => taskGraph.tasks[s.key].target.project).join(', ')}\n`);
    const outcomes = await runVmTestBatch(subjects, {
      workspaceRoot: context.root,
      offline: options.offline,
      extraArgs: options.extraArgs,
      verbose: options.verbose,
      sharing: sharingFromOptions(options).sharing,
      progress: process.stderr,
      logFile: inWorkspace(context.root, batchLogFile(target)),
    });
    for (const subject of subjects) {
      const output = outputs.get(subject.key)!;
      const outcome = outcomes.get(subject.key);
      if (!outcome?.ok) {
        output.fail(target, outcome?.error ?? new Error('no result'));
        results[subject.key] = output.result(false);
        continue;
      }
      const { cases, junitFile } = outcome.result;
      const failed = cases.filter((c) => c.failure);
      const name = subject.subject.kind === 'profile' ? subject.subject.profile.name : subject.subject.project;
      output.log(`${name}: ${cases.length - failed.length}/${cases.length} VM test(s) passed; JUnit report: ${relative(context.root, junitFile)}`);
      results[subject.key] = output.result(failed.length === 0);
    }
  }
  return results;
}

/** Nx's batch implementation: every task's result comes with its own output, printed under the task. */
export default function vmTestBatch(taskGraph: TaskGraph, inputs: Record<string, VmTestExecutorOptions>, overrides: unknown, context: ExecutorContext) {
  return yieldResults(runBatch(taskGraph, inputs, overrides, context));
}
