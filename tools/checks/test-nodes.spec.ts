import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { REPO_ROOT, repoNixFiles, repoProfiles } from './repo-nix';
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
      'configs/base.nix:9: sets nixpkgs.config.allowUnfreePredicate, which runNixOSTest makes read-only in test nodes (node.pkgs); tests/minimal.nix reaches this file',
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
});

describeIfTools(['git'])('the VM tests of this repository', () => {
  const tests = repoNixFiles().filter((f) => f.startsWith('infra/nixos/tests/'));

  it('import no module that sets an option runNixOSTest makes read-only', () => {
    expect(tests).toContain('infra/nixos/tests/minimal.nix');
    for (const test of tests) expect({ test, findings: findings(REPO_ROOT, test) }).toEqual({ test, findings: [] });
  });

  it('reach base.nix and every service module, but not configs/nixpkgs.nix', () => {
    const { files } = checkTestNodes(REPO_ROOT, 'infra/nixos/tests/minimal.nix');
    expect(files).toEqual(
      expect.arrayContaining([
        'infra/nixos/configs/base.nix',
        'infra/nixos/modules/security/sops-bootstrap.nix',
        ...['gitlab', 'mattermost', 'monitoring', 'n8n', 'outline', 'penpot'].map((s) => `infra/nixos/modules/services/${s}/default.nix`),
      ]),
    );
    expect(files).not.toContain('infra/nixos/configs/nixpkgs.nix');
  });

  it('while each profile defines nixpkgs.config through configs/nixpkgs.nix only', () => {
    for (const name of repoProfiles())
      expect(checkTestNodes(REPO_ROOT, `profiles/${name}/profile.nix`).findings.map((f) => `${f.file}: ${f.message.split(', which')[0]}`)).toEqual([
        'infra/nixos/configs/nixpkgs.nix: sets nixpkgs.config.allowUnfreePredicate',
      ]);
  });
});
