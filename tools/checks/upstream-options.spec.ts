import { parse } from 'yaml';
import { runNix } from '../../packages/nx-nixos/src/nix/command';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { scanModuleFile, stringLiterals, testModuleSettings } from './nix-options';
import { REPO_ROOT, readRepoFile, repoNixFiles, repoProfiles } from './repo-nix';
import {
  FILE_ACCESS,
  RAVE_UNITS,
  SECRET_READERS,
  TEST_DRIVER_API,
  UPSTREAM_NAMESPACES,
  UPSTREAM_UNITS,
  VERIFIED_OPTIONS,
  driverCalls,
  unitReferences,
  unrecordedDriverCalls,
  unrecordedTestSettings,
  unrecordedUnits,
  unverifiedUpstreamUses,
} from './upstream-options';

const scan = (file: string, source: string) => scanModuleFile(file, source, UPSTREAM_NAMESPACES);
// The flake's Nix files: modules, configs, VM tests and their helpers, and each profile's profile.nix and test.nix.
const flakeNixFiles = () => repoNixFiles().filter((f) => f.startsWith('infra/nixos/') || /^profiles\/[^/]+\/(profile|test)\.nix$/.test(f));

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
    const scanned = flakeNixFiles().map((f) => scan(f, readRepoFile(f)));
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
    const refs = flakeNixFiles().flatMap((f) => unitReferences(f, readRepoFile(f)));
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
        'gitlab-sidekiq.service',
        'prometheus-node-exporter.service',
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

  it('each secret restarts the units that read it when it changes (sops.secrets.<name>.restartUnits)', () => {
    for (const [secret, { readers }] of Object.entries(SECRET_READERS)) {
      const service = secret.split('/')[0];
      const file = `infra/nixos/modules/services/${service === 'grafana' ? 'monitoring' : service}/default.nix`;
      const source = readRepoFile(file);
      // Either `"<secret>".restartUnits = ...` or, for GitLab's generated names, one list for all gitlab/*.
      const declared = source.includes(`"${secret}".restartUnits = `) || (service === 'gitlab' && source.includes('restartUnits ='));
      const missing = readers.map((r) => r.unit).filter((unit) => !source.includes(`"${unit}"`));
      expect({ secret, file, declared, missing }).toEqual({ secret, file, declared: true, missing: [] });
    }
  });
});

describe('files other services read', () => {
  it('the VM test asserts the recorded modes, and the modules set the others as recorded', () => {
    const vmTest = readRepoFile('infra/nixos/configs/test.nix');
    for (const f of FILE_ACCESS) {
      if (f.setBy === 'vm-test') expect({ path: f.path, asserted: vmTest.includes(`("${f.path}", "${f.mode}")`) }).toEqual({ path: f.path, asserted: true });
      else expect({ path: f.path, set: readRepoFile(f.setBy.file).includes(f.setBy.text) }).toEqual({ path: f.path, set: true });
    }
  });
});

describe('test framework record', () => {
  it('finds the driver calls of a test script with their keyword arguments, skipping strings and helper definitions', () => {
    const script = `def probe(name: str) -> None:
    with subtest(f"{name} answers"):
        machine.wait_until_succeeds("curl 'https://x/?format=old' | grep -q a=b", timeout=TIMEOUT)
machine.wait_for_unit("a.service", timout=3)
machine.reboot()
start_all()
`;
    const calls = driverCalls(script);
    expect(calls.map(({ line, call, keywords }) => `${line} ${call} ${keywords.join(',')}`)).toEqual([
      '2 subtest ',
      '3 machine.wait_until_succeeds timeout',
      '4 machine.wait_for_unit timout',
      '5 machine.reboot ',
      '6 start_all ',
    ]);
    expect(unrecordedDriverCalls(calls)).toEqual([
      'line 4: machine.wait_for_unit has no parameter timout (recorded: unit, user, timeout)',
      expect.stringMatching(/^line 5: machine\.reboot is not a recorded test-driver call; recorded: machine\.fail, /),
      expect.stringMatching(/^line 6: start_all is not a recorded test-driver call/),
    ]);
  });

  it('checks a test module\'s own settings, not its nodes', () => {
    const test = `{ pkgs }:
pkgs.testers.runNixOSTest {
  name = "t";
  node = { pkgsReadOnly = false; specialArgs = { }; };
  nodes.a = { virtualisation.cores = 2; };
  testScript = "";
  skipLint = true;
}`;
    expect(unrecordedTestSettings(testModuleSettings('t.nix', test))).toEqual([
      expect.stringMatching(/^line 4: node\.specialArgs is not a recorded option of the NixOS test framework/),
      expect.stringMatching(/^line 7: skipLint is not a recorded/),
    ]);
  });
});

describeIfTools(['git'])('the VM tests of this repository', () => {
  const tests = flakeNixFiles().filter((f) => testModuleSettings(f, readRepoFile(f)).length > 0);

  it('set only recorded options of the test framework', () => {
    expect(tests.length).toBeGreaterThan(7);
    expect(tests.flatMap((f) => unrecordedTestSettings(testModuleSettings(f, readRepoFile(f))).map((m) => `${f}: ${m}`))).toEqual([]);
  });

  it('make only recorded test-driver calls in the scripts written in them', () => {
    const files = flakeNixFiles().filter((f) => f.endsWith('/test.nix'));
    const calls = files.flatMap((f) => stringLiterals(f, readRepoFile(f)).flatMap((s) => driverCalls(s.text, s.line).map((c) => ({ ...c, file: f }))));
    expect(new Set(calls.map((c) => c.call))).toEqual(new Set(['machine.wait_for_unit', 'machine.wait_until_succeeds', 'machine.succeed', 'machine.fail', 'machine.wait_for_open_port', 'subtest']));
    expect(files.flatMap((f) => unrecordedDriverCalls(calls.filter((c) => c.file === f)).map((m) => `${f}: ${m}`))).toEqual([]);
  });
});

describeIfTools(['nix-instantiate', 'git'])('the generated profile test scripts', () => {
  jest.setTimeout(60_000);

  it('make only recorded test-driver calls', async () => {
    for (const name of repoProfiles()) {
      const expr = `import ./infra/nixos/lib/profile-test-script.nix { profile = (import ./infra/nixos/lib/profiles.nix { profilesDir = ./profiles; }).${name}; }`;
      const result = await runNix('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expr], { cwd: REPO_ROOT });
      expect(result.code).toBe(0);
      const calls = driverCalls(JSON.parse(result.stdout) as string);
      expect(calls.map((c) => c.call)).toEqual(expect.arrayContaining(['machine.wait_for_unit', 'machine.wait_until_succeeds', 'machine.succeed', 'subtest']));
      expect({ name, unrecorded: unrecordedDriverCalls(calls) }).toEqual({ name, unrecorded: [] });
    }
  });

  it('record every driver call once', () => {
    const all = Object.values(TEST_DRIVER_API).flatMap((calls) => Object.keys(calls));
    expect(all.filter((c, i) => all.indexOf(c) !== i)).toEqual([]);
  });
});
