import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { sharingFromOptions, type SharingExecutorOptions } from '../../nix/copy';
import { runVmTests } from '../../nix/vm-test';
import { profileOf, projectRootOf, reportErrors } from '../shared/profile';

export interface VmTestExecutorOptions extends SharingExecutorOptions {
  flakeRef?: string;
  offline?: boolean;
  extraArgs?: string[];
  kvmPreflight?: boolean;
  verbose?: boolean;
}

export default async function vmTestExecutor(options: VmTestExecutorOptions, context: ExecutorContext) {
  return reportErrors('vm-test', async () => {
    const profile = profileOf(context);
    if (profile.tests.length === 0) console.warn(`${profile.name}: no VM tests declared ("tests" in profiles/${profile.name}/profile.json is empty).`);
    const { flakeRef, offline, extraArgs, kvmPreflight, verbose } = options;
    const { sharing, push } = sharingFromOptions(options);
    const { cases, junitFile } = await runVmTests({
      workspaceRoot: context.root,
      profile,
      profileDir: projectRootOf(context),
      ...{ flakeRef, offline, extraArgs, kvmPreflight, verbose, sharing, push },
      progress: process.stderr,
    });
    const failed = cases.filter((c) => c.failure);
    console.log(`${profile.name}: ${cases.length - failed.length}/${cases.length} VM test(s) passed; JUnit report: ${relative(context.root, junitFile)}`);
    return failed.length === 0;
  });
}
