import { DRIVER_PROGRAM } from '../../packages/nx-nixos/src/nix/interactive-driver';
import { runNix } from '../../packages/nx-nixos/src/nix/command';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { REPO_ROOT, readRepoFile, repoNixFiles } from './repo-nix';
import { testFilesWithDriver, TEST_RESULT_ATTRIBUTES } from './upstream-options';

const recorded = Object.values(TEST_RESULT_ATTRIBUTES).flat();

describe('the RAVE checks have the driverInteractive that vm-test-interactive runs', () => {
  it('records the attribute and the program path the plugin uses', () => {
    expect(recorded).toEqual(['driverInteractive', DRIVER_PROGRAM]);
  });

  it('has every test file return pkgs.testers.runNixOSTest at its top level', () => {
    const files = testFilesWithDriver(repoNixFiles());
    expect(files).toEqual(expect.arrayContaining(['infra/nixos/tests/profile.nix', 'infra/nixos/configs/test.nix', 'infra/nixos/modules/services/gitlab/test.nix']));
    for (const file of files) expect({ file, result: /^pkgs\.testers\.runNixOSTest \{$/m.test(readRepoFile(file)) }).toEqual({ file, result: true });
  });
});

describeIfTools(['nix'])('infra/nixos/lib/checks.nix (evaluated by nix with stand-in test builders)', () => {
  it('passes each test builder\'s result through, driverInteractive included', async () => {
    const expr = `let checks = import ${REPO_ROOT}/infra/nixos/lib/checks.nix {
      profiles = { development = { }; production = { }; };
      moduleTests = { module-configs = "configs"; module-gitlab = "gitlab"; };
      profileTest = name: profile: { driverInteractive = "driver of profile " + name; };
      moduleTest = test: { driverInteractive = "driver of " + test; };
    }; in builtins.mapAttrs (_: check: check.driverInteractive) checks`;
    const result = await runNix('nix', ['eval', '--json', '--impure', '--expr', expr], { cwd: REPO_ROOT });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      'profile-development': 'driver of profile development',
      'profile-production': 'driver of profile production',
      'module-configs': 'driver of configs',
      'module-gitlab': 'driver of gitlab',
      'minimal-test': 'driver of configs',
    });
  });
});
