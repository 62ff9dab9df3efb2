import { parse } from 'yaml';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { scanModuleFile } from './nix-options';
import { readRepoFile, repoNixFiles } from './repo-nix';
import {
  FILE_ACCESS,
  RAVE_UNITS,
  SECRET_READERS,
  UPSTREAM_NAMESPACES,
  UPSTREAM_UNITS,
  VERIFIED_OPTIONS,
  unitReferences,
  unrecordedUnits,
  unverifiedUpstreamUses,
} from './upstream-options';

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

describe('systemd unit record', () => {
  it('finds the units a module names, with ${...} as <name>, and reports those nobody recorded', () => {
    const module = `{ lib, ... }: {
  systemd.services.myapp-setup = { before = [ "myapp.service" ]; after = [ "postgresql.target" ]; };
  systemd.services.other.requires = map (c: "podman-app-\${c}.service") [ "a" ];
  environment.etc.x.text = "wait_for_unit(\\"nginx.service\\") and cfg.tls.keyFile.path";
}`;
    const refs = unitReferences('m.nix', module);
    expect(refs.map((r) => `${r.line} ${r.unit}`).sort()).toEqual(
      ['2 myapp-setup.service', '2 myapp.service', '2 postgresql.target', '3 other.service', '3 podman-app-<name>.service', '4 nginx.service'].sort(),
    );
    expect(unrecordedUnits(refs, { upstream: ['postgresql.target', 'nginx.service', 'podman-<name>.service'] }, ['myapp-setup.service'])).toEqual([
      expect.stringMatching(/^m\.nix:2: myapp\.service is neither a RAVE unit nor a recorded upstream one/),
      expect.stringMatching(/^m\.nix:3: other\.service is neither/),
    ]);
  });
});

describeIfTools(['git'])('systemd units the flake names', () => {
  it('are RAVE units or recorded as checked upstream', () => {
    const files = repoNixFiles().filter((f) => f.startsWith('infra/nixos/') || /^profiles\/[^/]+\/profile\.nix$/.test(f));
    const refs = files.flatMap((f) => unitReferences(f, readRepoFile(f)));
    expect(refs.map((r) => r.unit)).toEqual(
      expect.arrayContaining([
        'sops-install-secrets.service',
        'postgresql.target',
        'nginx.service',
        'gitlab-config.service',
        'podman-penpot-<name>.service',
        'rave-sops-age-key.service',
        'rave-tls-selfsigned.service',
        'rave-postgresql-password-grafana.service',
        'rave-mattermost-env.service',
        'penpot-secrets-env.service',
      ]),
    );
    expect(unrecordedUnits(refs)).toEqual([]);
  });
});

describe('who reads the secrets', () => {
  const unitKnown = (unit: string) =>
    [...RAVE_UNITS, ...Object.values(UPSTREAM_UNITS).flat()].some((p) => new RegExp(`^${p.replace(/\./g, '\\.').replace(/<name>/g, '[^.]+')}$`).test(unit));

  it('every key of config/secrets.yaml has recorded readers, and every recorded secret is a key', () => {
    const { sops: _metadata, ...data } = parse(readRepoFile('config/secrets.yaml')) as Record<string, Record<string, unknown>>;
    const keys = Object.entries(data).flatMap(([service, secrets]) => Object.keys(secrets).map((name) => `${service}/${name}`));
    expect(keys.sort()).toEqual(Object.keys(SECRET_READERS).sort());
  });

  it('a reader that opens the file itself runs as its owner (mode 0400); every reader is a known unit', () => {
    for (const [secret, { owner, readers }] of Object.entries(SECRET_READERS))
      for (const r of readers) {
        expect({ secret, unit: r.unit, known: unitKnown(r.unit) }).toEqual({ secret, unit: r.unit, known: true });
        if (r.via === 'file') expect({ secret, unit: r.unit, user: r.user }).toEqual({ secret, unit: r.unit, user: owner });
      }
  });

  it('the modules give the file-reading secrets that owner', () => {
    const modules = repoNixFiles().filter((f) => f.startsWith('infra/nixos/modules/services/'));
    const source = modules.map((f) => readRepoFile(f)).join('\n');
    for (const [secret, { owner, readers }] of Object.entries(SECRET_READERS)) {
      if (!readers.some((r) => r.via === 'file')) continue;
      const service = secret.split('/')[0];
      // Either `"<secret>".owner = ...` or, for GitLab's generated names, one owner for all gitlab/*.
      const declared = source.includes(`"${secret}".owner = `) || (service === 'gitlab' && source.includes('owner = config.services.gitlab.user;'));
      expect({ secret, owner, declared }).toEqual({ secret, owner, declared: true });
    }
  });
});

describe('files other services read', () => {
  it('the VM test asserts the recorded modes, and the modules set the others as recorded', () => {
    const vmTest = readRepoFile('infra/nixos/tests/minimal.nix');
    for (const f of FILE_ACCESS) {
      if (f.setBy === 'vm-test') expect({ path: f.path, asserted: vmTest.includes(`("${f.path}", "${f.mode}")`) }).toEqual({ path: f.path, asserted: true });
      else expect({ path: f.path, set: readRepoFile(f.setBy.file).includes(f.setBy.text) }).toEqual({ path: f.path, set: true });
    }
  });
});
