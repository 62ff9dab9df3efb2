import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import { kvmStatus } from '../host/kvm';
import type { Profile } from '../profile/schema';
import { junitXml, type JUnitCase } from '../report/junit';
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

/** Builds checks.<system>.<test> for every test of the subject; one JUnit case each. */
export async function runVmTests(options: VmTestOptions): Promise<VmTestResult> {
  const { workspaceRoot, subject } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const flakeRef = options.flakeRef ?? '.';
  const name = subject.kind === 'profile' ? subject.profile.name : subject.project;
  const system = subject.kind === 'profile' ? subject.profile.system : subject.system;
  const tests = subject.kind === 'profile' ? subject.profile.tests : subject.checks;
  const dir = inWorkspace(workspaceRoot, testReportDir(name));
  await assertNixForFlake(workspaceRoot, flakeRef);
  mkdirSync(dir, { recursive: true });

  if (subject.kind === 'profile' && subject.withImage) {
    const image = await ensureImage({ ...options, profile: subject.profile, profileDir: subject.profileDir, log });
    log(imageAvailabilityLine(image));
  }

  const installables = tests.map((test) => ({ test, installable: `${flakeRef}#checks.${system}.${test}` }));
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
      // A host problem (no build users, no network, no KVM) is not this test's failure: said once, for all.
      if (!(e instanceof NixBuildError) || e.diagnosis) throw e;
      log(`${test}: FAILED\n${e.message}`);
      cases.push({
        name: test,
        seconds: (Date.now() - started) / 1000,
        failure: { message: e.failedDerivation ? `builder for ${e.failedDerivation} failed` : 'nix build failed', details: e.message },
      });
    }
  }
  if (options.push && resultPaths.length) {
    const push = await pushToCache({ cwd: workspaceRoot, paths: resultPaths, ...options.push });
    if (!push.ok) (options.warn ?? console.warn)(`warning: the test results were not pushed to ${options.push.to}: ${push.reason}`);
    else log(`Pushed ${resultPaths.length} test result(s) to ${options.push.to} in ${push.seconds.toFixed(1)}s.`);
  }
  const junitFile = join(dir, 'junit.xml');
  writeFileAtomic(junitFile, junitXml(name, cases));
  return { cases, junitFile };
}
