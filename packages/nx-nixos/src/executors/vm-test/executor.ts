import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { sharingFromOptions, type SharingExecutorOptions } from '../../nix/copy';
import { runVmTests, type VmTestSubject } from '../../nix/vm-test';
import { profileFile } from '../../layout';
import { profileOf, projectRootOf, reportErrors } from '../shared/profile';
import { useWorkspaceOf } from '../shared/workspace';

export interface VmTestExecutorOptions extends SharingExecutorOptions {
  flakeRef?: string;
  offline?: boolean;
  extraArgs?: string[];
  kvmPreflight?: boolean;
  verbose?: boolean;
  /** Make the profile's image available before testing (plugin option vmTestDependsOnImage). */
  withImage?: boolean;
  /** Checks of a Nix module project (module-<folder>); a profile's come from its profile.json. */
  checks?: string[];
  system?: string;
  /** Run the test's driverInteractive attached to the terminal instead of building the test (uncached targets only). */
  interactive?: boolean;
  /** With `interactive`: the test to run, when the project has more than one. */
  test?: string;
}

/** The subject's tests, and what messages call the subject. */
const testsOf = (subject: VmTestSubject) =>
  subject.kind === 'profile' ? { tests: subject.profile.tests, system: subject.profile.system, project: subject.profile.name } : { tests: subject.checks, system: subject.system, project: subject.project };

/**
 * An interactive run must never be replayed from Nx's cache (a cached success would skip the session), so it
 * runs only from a target that Nx does not cache: the inferred <vm-test>-interactive target.
 */
export function assertUncached(context: Pick<ExecutorContext, 'target' | 'projectName' | 'targetName'>): void {
  // Nx caches a task only when its target says cache: true (after nx.json's targetDefaults).
  if (context.target?.cache !== true) return;
  throw new Error(
    `--interactive runs a terminal session, which Nx must not cache, and ${context.projectName}:${context.targetName} is a cached target. ` +
      `Run: npx nx run ${context.projectName}:${context.targetName}-interactive (or any target of this executor with "cache": false).`,
  );
}

async function runInteractive(options: VmTestExecutorOptions, subject: VmTestSubject, context: ExecutorContext): Promise<boolean> {
  assertUncached(context);
  const { buildInteractiveDriver, chooseInteractiveTest, driverKvm, interactiveDriverHints, runInteractiveDriver } = await import('../../nix/interactive-driver');
  const { tests, system, project } = testsOf(subject);
  const test = chooseInteractiveTest(tests, options.test, project);
  const driver = await buildInteractiveDriver({
    workspaceRoot: context.root,
    flakeRef: options.flakeRef,
    system,
    test,
    project,
    offline: options.offline,
    extraArgs: options.extraArgs,
    sharing: sharingFromOptions(options).sharing,
    verbose: options.verbose,
    progress: process.stderr,
  });
  console.log(`${test}: interactive test driver ${driver.program} (working folder ${relative(context.root, driver.workDir)})`);
  for (const line of interactiveDriverHints(driverKvm())) console.log(line);
  const code = await runInteractiveDriver(driver);
  if (code !== 0) console.error(`${test}: the test driver exited with status ${code}.`);
  return code === 0;
}

export default async function vmTestExecutor(options: VmTestExecutorOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'vm-test', async () => {
    useWorkspaceOf(context);
    const { flakeRef, offline, extraArgs, kvmPreflight, verbose } = options;
    const { sharing, push } = sharingFromOptions(options);
    let subject: VmTestSubject;
    if (options.checks) {
      subject = { kind: 'checks', project: context.projectName ?? projectRootOf(context), system: options.system ?? 'x86_64-linux', checks: options.checks };
    } else {
      const profile = profileOf(context);
      if (profile.tests.length === 0 && !options.interactive) console.warn(`${profile.name}: no VM tests declared ("tests" in ${profileFile(projectRootOf(context))} is empty).`);
      subject = { kind: 'profile', profile, profileDir: projectRootOf(context), withImage: options.withImage };
    }
    if (options.interactive) return runInteractive(options, subject, context);
    const { cases, junitFile } = await runVmTests({
      workspaceRoot: context.root,
      subject,
      ...{ flakeRef, offline, extraArgs, kvmPreflight, verbose, sharing, push },
      progress: process.stderr,
    });
    const failed = cases.filter((c) => c.failure);
    const name = subject.kind === 'profile' ? subject.profile.name : subject.project;
    console.log(`${name}: ${cases.length - failed.length}/${cases.length} VM test(s) passed; JUnit report: ${relative(context.root, junitFile)}`);
    return failed.length === 0;
  });
}
