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
      if (profile.tests.length === 0) console.warn(`${profile.name}: no VM tests declared ("tests" in ${profileFile(projectRootOf(context))} is empty).`);
      subject = { kind: 'profile', profile, profileDir: projectRootOf(context), withImage: options.withImage };
    }
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
