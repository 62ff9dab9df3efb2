import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import { kvmStatus } from '../host/kvm';
import type { Profile } from '../profile/schema';
import { junitXml, type JUnitCase } from '../report/junit';
import { nixBuildBatch } from './batch';
import { NixBuildError, nixBuild } from './build';
import { requiredSystemFeatures } from './eval';
import { pushToCache, sharingArgs, type NixSharingOptions } from './copy';
import { ensureImage, imageAvailabilityLine } from './image';
import { assertNixForFlake } from './requirements';
import { inWorkspace, testReportDir } from '../layout';
import type { ProgressOutput } from './progress-render';

export const UP_TO_DATE = 'up to date (derivation unchanged)';

/** What to test: a profile (its `tests`), or the checks of a Nix module project. */
export type VmTestSubject =
  | { kind: 'profile'; profile: Profile; /** Its project root. */ profileDir: string; /** Make the profile's image available first. */ withImage?: boolean }
  | { kind: 'checks'; project: string; system: string; checks: string[] };

export interface VmTestOptions {
  workspaceRoot: string;
  subject: VmTestSubject;
  flakeRef?: string;
  offline?: boolean;
  extraArgs?: readonly string[];
  kvmPreflight?: boolean;
  verbose?: boolean;
  progress?: ProgressOutput;
  log?: (line: string) => void;
  sharing?: NixSharingOptions;
  /** Opt-in: sign and copy the passed tests' results to this binary cache. */
  push?: { to: string; signingKeyFile?: string };
  warn?: (message: string) => void;
}

export interface VmTestResult {
  cases: JUnitCase[];
  junitFile: string;
}

const subjectName = (subject: VmTestSubject) => (subject.kind === 'profile' ? subject.profile.name : subject.project);

/**
 * Before the tests are built: the flake's Nix requirement, the subject's image when asked for, and KVM for
 * tests that need it. Returns the tests with their attribute paths.
 */
async function prepareVmTests(options: VmTestOptions, log: (line: string) => void): Promise<{ test: string; attrPath: string; installable: string }[]> {
  const { workspaceRoot, subject } = options;
  const flakeRef = options.flakeRef ?? '.';
  const system = subject.kind === 'profile' ? subject.profile.system : subject.system;
  const tests = subject.kind === 'profile' ? subject.profile.tests : subject.checks;
  await assertNixForFlake(workspaceRoot, flakeRef);
  mkdirSync(inWorkspace(workspaceRoot, testReportDir(subjectName(subject))), { recursive: true });

  if (subject.kind === 'profile' && subject.withImage) {
    const image = await ensureImage({ ...options, profile: subject.profile, profileDir: subject.profileDir, log });
    log(imageAvailabilityLine(image));
  }

  const installables = tests.map((test) => ({ test, attrPath: `checks.${system}.${test}`, installable: `${flakeRef}#checks.${system}.${test}` }));
  if (options.kvmPreflight !== false) {
    const kvm = kvmStatus();
    if (!kvm.usable) {
      for (const { test, installable } of installables) {
        const features = await requiredSystemFeatures(workspaceRoot, installable, options.offline);
        if (features.includes('kvm'))
          throw new Error(
            `Test ${test} needs KVM (requiredSystemFeatures: ${features.join(', ')}) but ${kvm.reason}. Fix: ${kvm.fix}; ` +
              `or build on a remote builder that has the kvm feature and set the vm-test option kvmPreflight to false.`,
          );
      }
    }
  }
  return installables;
}

/** A failed test's JUnit case; a host problem (no build users, no network, no KVM) is thrown: it is not this test's failure. */
function failedCase(test: string, seconds: number, e: unknown, log: (line: string) => void): JUnitCase {
  if (!(e instanceof NixBuildError) || e.diagnosis) throw e;
  log(`${test}: FAILED\n${e.message}`);
  return { name: test, seconds, failure: { message: e.failedDerivation ? `builder for ${e.failedDerivation} failed` : 'nix build failed', details: e.message } };
}

/** Pushes the passed tests' results when asked, and writes the JUnit report. */
async function finishVmTests(options: VmTestOptions, cases: JUnitCase[], resultPaths: string[], log: (line: string) => void): Promise<VmTestResult> {
  const { workspaceRoot } = options;
  if (options.push && resultPaths.length) {
    const push = await pushToCache({ cwd: workspaceRoot, paths: resultPaths, ...options.push });
    if (!push.ok) (options.warn ?? console.warn)(`warning: the test results were not pushed to ${options.push.to}: ${push.reason}`);
    else log(`Pushed ${resultPaths.length} test result(s) to ${options.push.to} in ${push.seconds.toFixed(1)}s.`);
  }
  const name = subjectName(options.subject);
  const junitFile = join(inWorkspace(workspaceRoot, testReportDir(name)), 'junit.xml');
  writeFileAtomic(junitFile, junitXml(name, cases));
  return { cases, junitFile };
}

/** Builds checks.<system>.<test> for every test of the subject; one JUnit case each. */
export async function runVmTests(options: VmTestOptions): Promise<VmTestResult> {
  const { workspaceRoot } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = inWorkspace(workspaceRoot, testReportDir(subjectName(options.subject)));
  const installables = await prepareVmTests(options, log);
  const cases: JUnitCase[] = [];
  const resultPaths: string[] = [];
  for (const { test, installable } of installables) {
    const started = Date.now();
    const logFile = join(dir, `${test}.log`);
    try {
      const build = await nixBuild({
        cwd: workspaceRoot,
        installable,
        outLink: join(dir, `${test}-result`),
        offline: options.offline,
        extraArgs: [...sharingArgs(options.sharing ?? {}), ...(options.extraArgs ?? [])],
        maxJobs: options.sharing?.maxJobs,
        logFile,
        verbose: options.verbose,
        progress: options.progress,
      });
      const upToDate = build.monitor.finished.length === 0 && build.monitor.substituted.size === 0;
      const note = upToDate ? UP_TO_DATE : `passed (${build.monitor.finished.length} derivation(s) built)`;
      const where = [...new Set(build.monitor.finished.flatMap((b) => (b.machine ? [b.machine] : [])))];
      log(`${test}: ${note}${where.length ? ` on ${where.join(', ')}` : ''}`);
      resultPaths.push(...Object.values(build.outputs));
      cases.push({ name: test, seconds: (Date.now() - started) / 1000, systemOut: note });
    } catch (e) {
      cases.push(failedCase(test, (Date.now() - started) / 1000, e, log));
    }
  }
  return finishVmTests(options, cases, resultPaths, log);
}

/** One subject of a batch of VM tests, with its own options (flakeRef, image, push) and output. */
export interface BatchVmTestSubject extends VmTestOptions {
  key: string;
  log: (line: string) => void;
}

export type BatchVmTestOutcome = { ok: true; result: VmTestResult } | { ok: false; error: Error };

/**
 * The VM tests of many subjects from one evaluation and one `nix build --keep-going` (nixBuildBatch): each
 * subject gets its own JUnit report; a test that fails fails only its case.
 */
export async function runVmTestBatch(
  subjects: readonly BatchVmTestSubject[],
  common: Pick<VmTestOptions, 'workspaceRoot' | 'offline' | 'extraArgs' | 'verbose' | 'progress' | 'sharing'> & { logFile: string },
): Promise<Map<string, BatchVmTestOutcome>> {
  const outcomes = new Map<string, BatchVmTestOutcome>();
  const prepared: { subject: BatchVmTestSubject; tests: { test: string; attrPath: string; installable: string }[] }[] = [];
  for (const subject of subjects) {
    try {
      prepared.push({ subject, tests: await prepareVmTests(subject, subject.log) });
    } catch (e) {
      outcomes.set(subject.key, { ok: false, error: e as Error });
    }
  }
  const itemKey = (subject: BatchVmTestSubject, test: string) => `${subject.key}\u0000${test}`;
  const started = Date.now();
  const batch = await nixBuildBatch({
    cwd: common.workspaceRoot,
    items: prepared.flatMap(({ subject, tests }) =>
      tests.map(({ test, attrPath }) => ({
        key: itemKey(subject, test),
        flakeRef: subject.flakeRef ?? '.',
        attrPath,
        outLink: join(inWorkspace(common.workspaceRoot, testReportDir(subjectName(subject.subject))), `${test}-result`),
      })),
    ),
    offline: common.offline,
    extraArgs: [...sharingArgs(common.sharing ?? {}), ...(common.extraArgs ?? [])],
    maxJobs: common.sharing?.maxJobs,
    logFile: common.logFile,
    verbose: common.verbose,
    progress: common.progress,
  });
  const seconds = (Date.now() - started) / 1000;
  for (const { subject, tests } of prepared) {
    try {
      const cases: JUnitCase[] = [];
      const resultPaths: string[] = [];
      for (const { test } of tests) {
        const outcome = batch.outcomes.get(itemKey(subject, test));
        if (!outcome?.ok) {
          cases.push(failedCase(test, seconds, outcome?.error ?? new Error(`${test}: no result from the batch build`), subject.log));
          continue;
        }
        const note = outcome.built === 0 ? UP_TO_DATE : `passed (${outcome.built} derivation(s) built)`;
        subject.log(`${test}: ${note}`);
        resultPaths.push(...Object.values(outcome.outputs));
        cases.push({ name: test, seconds, systemOut: note });
      }
      outcomes.set(subject.key, { ok: true, result: await finishVmTests(subject, cases, resultPaths, subject.log) });
    } catch (e) {
      outcomes.set(subject.key, { ok: false, error: e as Error });
    }
  }
  return outcomes;
}
