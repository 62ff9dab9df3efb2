import { readRepoFile, repoNixFiles, repoProfiles } from './repo-nix';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { importElements, NixScanError, scanModuleFile, undeclaredUses } from './nix-options';

const MODULE = `
{ config, lib, pkgs, ... }:
let
  cfg = config.services.rave.demo;
  secret = name: lib.mkOption { type = lib.types.str; default = "/run/secrets/demo/\${name}"; };
in
{
  options.services.rave.demo = {
    enable = lib.mkEnableOption "demo";
    package = lib.mkPackageOption pkgs "hello" { };
    tokenFile = secret "token";
    resources = {
      memoryMax = lib.mkOption { type = lib.types.nullOr lib.types.str; default = null; };
    };
    roles = lib.mkOption { type = lib.types.attrsOf (lib.types.submodule { options.x = lib.mkOption { }; }); default = { }; };
  };
  config = lib.mkIf cfg.enable {
    systemd.services.demo.serviceConfig.MemoryMax = lib.mkIf (cfg.resources.memoryMax != null) cfg.resources.memoryMax;
    environment.etc.demo.text = "\${cfg.tokenFile} \${toString cfg.resources.cpus}";
  };
}
`;

describe('static check of services.rave.* option names', () => {
  it('reads declarations, including helpers that return lib.mkOption', () => {
    const scanned = scanModuleFile('demo.nix', MODULE);
    expect(scanned.declarations.map((d) => d.path.join('.')).sort()).toEqual([
      'services.rave.demo.enable',
      'services.rave.demo.package',
      'services.rave.demo.resources.memoryMax',
      'services.rave.demo.roles',
      'services.rave.demo.tokenFile',
    ]);
  });

  it('reports a read of an undeclared option through an alias, inside a string', () => {
    const findings = undeclaredUses([scanModuleFile('demo.nix', MODULE)]);
    expect(findings).toEqual([
      expect.objectContaining({
        file: 'demo.nix',
        line: 19,
        kind: 'read',
        message: 'no module declares the option services.rave.demo.resources.cpus; services.rave.demo.resources has: memoryMax',
      }),
    ]);
  });

  it('reports misspelt and group-valued settings in a profile, with file and line', () => {
    const profile = `{ ... }: {
  services.rave = {
    demo.enabel = true;
    demo.resources = "4G";
  };
  services.rave.demo.roles.alice.x = 1;
  services.nginx.enable = true;
}`;
    const findings = undeclaredUses([scanModuleFile('demo.nix', MODULE), scanModuleFile('profile.nix', profile)]).filter((f) => f.file === 'profile.nix');
    expect(findings.map(({ line, message }) => ({ line, message }))).toEqual([
      { line: 3, message: expect.stringContaining('no module declares the option services.rave.demo.enabel; services.rave.demo has: enable, package, resources, roles, tokenFile') },
      { line: 4, message: 'services.rave.demo.resources is a group of options, not an option: set one of its options instead' },
    ]);
  });

  it('fails loudly on Nix it cannot scan', () => {
    expect(() => scanModuleFile('bad.nix', '{ a = "unterminated; }')).toThrow(NixScanError);
  });

  it('reads files with the Nix lexer: the lines of interpolations in multi-line strings, interpolated paths, unclosed input', () => {
    const source = `{ config, ... }: {
  environment.etc.a.text = ''
    first line
    \${config.services.rave.demo.missing}
  '';
  imports = [ ./parts/\${config.networking.hostName}.nix ];
}`;
    const findings = undeclaredUses([scanModuleFile('demo.nix', MODULE), scanModuleFile('b.nix', source)]).filter((f) => f.file === 'b.nix');
    expect(findings.map((f) => [f.line, f.path.join('.')])).toEqual([[4, 'services.rave.demo.missing']]);
    expect(importElements('b.nix', source)).toEqual([{ line: 6, kind: 'path', text: './parts/${config.networking.hostName}.nix' }]);
    for (const bad of ['{ a = 1; /* open', '{ a = "${ b; ', "{ a = ''x; }"]) expect(() => scanModuleFile('bad.nix', bad)).toThrow(NixScanError);
  });
});

describeIfTools(['git'])('RAVE option names used by profiles, configs and tests', () => {
  const files = repoNixFiles().filter((f) => f.startsWith('infra/nixos/') || /^profiles\/[^/]+\/profile\.nix$/.test(f));
  const scanned = files.map((f) => scanModuleFile(f, readRepoFile(f)));

  it('all exist in the modules', () => {
    expect(scanned.length).toBeGreaterThan(10);
    expect(undeclaredUses(scanned)).toEqual([]);
  });

  it('every profile feature with a module has its enable option, and each profile.nix sets it', () => {
    const declared = new Set(scanned.flatMap((f) => f.declarations.map((d) => d.path.join('.'))));
    for (const name of repoProfiles()) {
      const features = Object.keys(JSON.parse(readRepoFile(`profiles/${name}/profile.json`)).features as object);
      const set = new Set(scanned.find((f) => f.file === `profiles/${name}/profile.nix`)!.uses.map((u) => u.path.join('.')));
      for (const feature of features) {
        expect(declared.has(`services.rave.${feature}.enable`) ? feature : `${feature}: no services.rave.${feature}.enable`).toBe(feature);
        expect(set.has(`services.rave.${feature}.enable`) ? feature : `${name}/profile.nix does not set services.rave.${feature}.enable`).toBe(feature);
      }
    }
  });
});
