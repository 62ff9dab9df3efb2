import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { scanModuleFile } from './nix-options';
import { readRepoFile, repoNixFiles } from './repo-nix';
import { UPSTREAM_NAMESPACES, VERIFIED_OPTIONS, unverifiedUpstreamUses } from './upstream-options';

const scan = (file: string, source: string) => scanModuleFile(file, source, UPSTREAM_NAMESPACES);

describe('upstream option record', () => {
  const verified = {
    gitlab: ['services.gitlab.enable', 'services.gitlab.packages.gitlab'],
    nginx: ['services.nginx.virtualHosts.<name>.locations.<name>.proxyPass'],
    grafana: ['services.grafana.settings.*'],
  };

  it('accepts recorded options, any attribute name for <name>, anything below a *, and groups', () => {
    const module = `{ config, lib, ... }: {
  services.gitlab = { enable = true; packages.gitlab = null; };
  services.nginx.virtualHosts.main.locations."/x/".proxyPass = "http://127.0.0.1:1";
  services.nginx.virtualHosts.main.locations = lib.mkMerge [ ];
  services.grafana.settings.server.http_port = 1;
}`;
    expect(unverifiedUpstreamUses([scan('m.nix', module)], verified)).toEqual([]);
  });

  it('reports an option nobody recorded, naming the recorded neighbours', () => {
    const module = `{ config, ... }: {
  services.gitlab.package = null;
  services.nginx.virtualHosts.main.locations."/".proxy_pass = "x";
  users.users.alice.isNormalUser = config.services.grafana.enable;
}`;
    const findings = unverifiedUpstreamUses([scan('m.nix', module)], verified);
    expect(findings.map(({ line, kind, message }) => ({ line, kind, message }))).toEqual([
      {
        line: 2,
        kind: 'set',
        message:
          'services.gitlab.package is not a recorded upstream option; recorded under services.gitlab: services.gitlab.enable, services.gitlab.packages.gitlab. Check its declaration in nixpkgs or sops-nix, then record it in tools/checks/upstream-options.ts.',
      },
      expect.objectContaining({ line: 3, message: expect.stringMatching(/^services\.nginx\.virtualHosts\.main\.locations\.\/\.proxy_pass is not a recorded/) }),
      expect.objectContaining({ line: 4, kind: 'set', message: expect.stringMatching(/^users\.users\.alice\.isNormalUser is not a recorded upstream option\. Check/) }),
      expect.objectContaining({ line: 4, kind: 'read', message: expect.stringMatching(/^services\.grafana\.enable is not a recorded/) }),
    ]);
  });

  it('records every option once', () => {
    const all = Object.values(VERIFIED_OPTIONS).flat();
    expect(all.length).toBeGreaterThan(80);
    expect(all.filter((p, i) => all.indexOf(p) !== i)).toEqual([]);
  });
});

describeIfTools(['git'])('upstream options used by the flake', () => {
  it('are all recorded as checked against nixpkgs or sops-nix', () => {
    const files = repoNixFiles().filter((f) => f.startsWith('infra/nixos/') || /^profiles\/[^/]+\/profile\.nix$/.test(f));
    const scanned = files.map((f) => scan(f, readRepoFile(f)));
    expect(scanned.flatMap((f) => f.uses).length).toBeGreaterThan(100);
    expect(unverifiedUpstreamUses(scanned).map((f) => `${f.file}:${f.line}: ${f.message}`)).toEqual([]);
  });
});
