import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { testModuleSettings } from './nix-options';
import { REPO_ROOT, readRepoFile, repoNixFiles, repoProfiles } from './repo-nix';
import { checkTestNodes } from './test-nodes';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'rave-test-nodes-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const findings = (root: string, entry: string) => checkTestNodes(root, entry).findings.map(({ file, line, message }) => `${file}:${line}: ${message}`);

describe('options runNixOSTest makes read-only, in the modules a test imports', () => {
  let root = '';
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds nixpkgs.config set under lib.mkIf two imports away (test -> profile.nix -> base.nix)', () => {
    root = tree({
      'tests/minimal.nix': `{ pkgs, sopsModule }:
pkgs.testers.runNixOSTest {
  name = "t";
  nodes.machine = { lib, ... }: {
    imports = [
      sopsModule
      ../profiles/production/profile.nix
    ];
    rave.profile = lib.mkForce { };
  };
  testScript = "";
}
`,
      'profiles/production/profile.nix': '{ ... }: {\n  imports = [ ../../configs/base.nix ];\n}\n',
      'configs/base.nix': `{ config, lib, modulesPath, ... }:
let
  cfg = config.services.rave;
in
{
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];
  config = {
    system.stateVersion = lib.mkDefault "26.05";
    nixpkgs.config.allowUnfreePredicate = lib.mkIf (cfg.unfreePackages != [ ]) (
      pkg: builtins.elem (lib.getName pkg) cfg.unfreePackages
    );
  };
}
`,
    });
    expect(findings(root, 'tests/minimal.nix')).toEqual([
      'configs/base.nix:9: sets nixpkgs.config.allowUnfreePredicate, which runNixOSTest makes read-only in test nodes (node.pkgs); tests/minimal.nix reaches this file: set node.pkgsReadOnly = false in it, or keep this module out',
    ]);
  });

  it('finds every way of defining nixpkgs.* or _module.args.pkgs, and nothing in files the test does not reach', () => {
    root = tree({
      'test.nix': `{ pkgs }:
pkgs.testers.runNixOSTest {
  nodes.a = { imports = [ ./a.nix ./dir ]; };
  nodes.b = { config, ... }: {
    imports = [ { nixpkgs.hostPlatform = "x86_64-linux"; } ];
    environment.etc.platform.text = config.nixpkgs.hostPlatform.system;
  };
  testScript = "";
}
`,
      'a.nix': `{ lib, ... }: {
  nixpkgs = {
    overlays = [ (final: prev: { hello = prev.hello; }) ];
  };
  config.nixpkgs.config = { };
}
`,
      'dir/default.nix': `{ lib, pkgs, ... }: lib.mkMerge [
  { _module.args.pkgs = pkgs; }
  (import ../b.nix)
]
`,
      'b.nix': '{ nixpkgs.localSystem.system = "x86_64-linux"; }\n',
      'unused.nix': '{ nixpkgs.config.allowUnfree = true; }\n',
    });
    const found = findings(root, 'test.nix').map((f) => f.split(', which')[0]);
    expect(found).toEqual([
      'a.nix:3: sets nixpkgs.overlays.hello',
      'a.nix:5: sets nixpkgs.config',
      'b.nix:1: sets nixpkgs.localSystem.system',
      'dir/default.nix:2: sets _module.args.pkgs',
      'test.nix:5: sets nixpkgs.hostPlatform',
    ]);
  });

  it('reports an import it cannot follow unless it is recorded as read upstream', () => {
    root = tree({
      'test.nix': `{ pkgs, sopsModule, inputs }:
pkgs.testers.runNixOSTest {
  nodes.machine = { modulesPath, ... }: {
    imports = [
      sopsModule
      (modulesPath + "/profiles/qemu-guest.nix")
      inputs.other.nixosModules.default
      <nixpkgs/nixos/modules/profiles/minimal.nix>
      ({ ... }: { services.nginx.enable = true; })
      ../outside.nix
    ];
  };
  testScript = "";
}
`,
    });
    expect(findings(root, 'test.nix')).toEqual([
      'test.nix:7: imports inputs.other.nixosModules.default, which cannot be followed statically: read it upstream, then record it in UPSTREAM_MODULES_IN_TESTS (tools/checks/upstream-options.ts)',
      'test.nix:8: imports <nixpkgs/nixos/modules/profiles/minimal.nix>, which cannot be followed statically: read it upstream, then record it in UPSTREAM_MODULES_IN_TESTS (tools/checks/upstream-options.ts)',
      'test.nix:10: imports ../outside.nix, outside the workspace',
    ]);
  });

  it('lets a test that sets node.pkgsReadOnly = false import nixpkgs.* definitions, but not _module.args.pkgs', () => {
    const test = (writable: string) => `{ pkgs }:
pkgs.testers.runNixOSTest {
  name = "t";
${writable}
  nodes.machine = { imports = [ ./unfree.nix ./args.nix ]; };
  testScript = "";
}
`;
    root = tree({
      'writable.nix': test('  node.pkgsReadOnly = false;'),
      'nested.nix': test('  node = { pkgsReadOnly = false; };'),
      'default.nix': test(''),
      'explicit.nix': test('  node.pkgsReadOnly = true;'),
      'unfree.nix': '{ lib, ... }: { nixpkgs.config = lib.mkIf true { allowUnfree = true; }; }\n',
      'args.nix': '{ pkgs, ... }: { _module.args.pkgs = pkgs; }\n',
    });
    for (const entry of ['writable.nix', 'nested.nix']) {
      expect(checkTestNodes(root, entry).pkgsReadOnly).toBe(false);
      expect(findings(root, entry)).toEqual([
        `args.nix:1: sets _module.args.pkgs, which the nodes' own nixpkgs module defines (${entry} sets node.pkgsReadOnly = false) and this file reaches`,
      ]);
    }
    for (const entry of ['default.nix', 'explicit.nix']) {
      expect(checkTestNodes(root, entry).pkgsReadOnly).toBe(true);
      expect(findings(root, entry).map((f) => f.split(', which')[0])).toEqual(['args.nix:1: sets _module.args.pkgs', 'unfree.nix:1: sets nixpkgs.config.allowUnfree']);
    }
  });
});

describeIfTools(['git'])('the VM tests of this repository', () => {
  // A test module is a file whose top-level attribute set has `nodes` (what runNixOSTest is given).
  const tests = repoNixFiles().filter((f) => testModuleSettings(f, readRepoFile(f)).length > 0);
  const services = ['gitlab', 'mattermost', 'monitoring', 'n8n', 'outline', 'penpot'];

  it('are the base configuration test, one test per service module and the profile test', () => {
    expect(tests).toEqual(['infra/nixos/configs/test.nix', ...services.map((s) => `infra/nixos/modules/services/${s}/test.nix`), 'infra/nixos/tests/profile.nix']);
  });

  it('import no module that sets an option the test framework owns in their nodes', () => {
    for (const test of tests) expect({ test, findings: findings(REPO_ROOT, test) }).toEqual({ test, findings: [] });
  });

  it('leave pkgs read-only unless they need configs/nixpkgs.nix (Outline and n8n are unfree, the profiles import it)', () => {
    const writable = ['infra/nixos/modules/services/n8n/test.nix', 'infra/nixos/modules/services/outline/test.nix', 'infra/nixos/tests/profile.nix'];
    for (const test of tests) {
      const { files, pkgsReadOnly } = checkTestNodes(REPO_ROOT, test);
      const needs = files.includes('infra/nixos/configs/nixpkgs.nix');
      expect({ test, pkgsReadOnly, needs }).toEqual({ test, pkgsReadOnly: !writable.includes(test), needs: writable.includes(test) });
    }
  });

  it('the base configuration test reaches base.nix and every service module', () => {
    const { files } = checkTestNodes(REPO_ROOT, 'infra/nixos/configs/test.nix');
    expect(files).toEqual(
      expect.arrayContaining([
        'infra/nixos/configs/base.nix',
        'infra/nixos/modules/security/sops-bootstrap.nix',
        ...services.map((s) => `infra/nixos/modules/services/${s}/default.nix`),
      ]),
    );
  });

  it('the profile test reaches every profile.nix, and the test fixtures', () => {
    const { files } = checkTestNodes(REPO_ROOT, 'infra/nixos/tests/profile.nix');
    expect(files).toEqual(expect.arrayContaining([...repoProfiles().map((p) => `profiles/${p}/profile.nix`), 'infra/nixos/tests/node.nix']));
  });

  it('while each profile defines nixpkgs.config through configs/nixpkgs.nix only', () => {
    for (const name of repoProfiles())
      expect(checkTestNodes(REPO_ROOT, `profiles/${name}/profile.nix`).findings.map((f) => `${f.file}: ${f.message.split(', which')[0]}`)).toEqual([
        'infra/nixos/configs/nixpkgs.nix: sets nixpkgs.config.allowUnfreePredicate',
      ]);
  });
});
