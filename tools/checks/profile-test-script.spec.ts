import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNix } from '../../packages/nx-nixos/src/nix/command';
import { loadProfile } from '../../packages/nx-nixos/src/profile/load';
import { Profile, enabledServices } from '../../packages/nx-nixos/src/profile/schema';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { REPO_ROOT, readRepoFile, repoProfiles } from './repo-nix';

// The VM tests the flake exposes, checked offline: the script of each profile's test as
// infra/nixos/lib/profile-test-script.nix generates it from profile.json, and the check names that
// infra/nixos/lib/module-tests.nix and checks.nix give.

async function evalJson<T>(expr: string, cwd = REPO_ROOT): Promise<T> {
  const result = await runNix('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expr], { cwd });
  if (result.code !== 0) throw new Error(`nix-instantiate --eval ${expr}\n${result.stderrTail.join('\n')}`);
  return JSON.parse(result.stdout) as T;
}

const PROFILES_EXPR = 'import ./infra/nixos/lib/profiles.nix { profilesDir = ./profiles; }';
const scriptOf = (profileExpr: string) => evalJson<string>(`import ${join(REPO_ROOT, 'infra/nixos/lib/profile-test-script.nix')} { profile = ${profileExpr}; }`);

/** What the generated script does, read back from its text. */
function readScript(script: string) {
  const lines = script.split('\n');
  const json = (s: string) => JSON.parse(s) as unknown;
  const probes: string[] = [];
  const units: string[] = [];
  for (const line of lines) {
    let m = /^probe\(("(?:[^"\\]|\\.)*"), ("(?:[^"\\]|\\.)*")\)$/.exec(line);
    if (m) probes.push(`${json(m[1]) as string} ${json(m[2]) as string}`);
    m = /^ssh_banner\(("(?:[^"\\]|\\.)*"), (\d+)\)$/.exec(line);
    if (m) probes.push(`${json(m[1]) as string} ssh ${m[2]}`);
    m = /^ {4}machine\.wait_for_unit\(("[^"]*"), timeout=TIMEOUT\)$/.exec(line);
    if (m) units.push(json(m[1]) as string);
  }
  const expected = /^ {4}expected = (\[.*\])$/m.exec(script);
  const timeout = /^TIMEOUT = (\d+)$/m.exec(script);
  return { probes, units, dashboard: expected ? (json(expected[1]) as string[]) : undefined, timeout: timeout ? Number(timeout[1]) : undefined };
}

/** The probes the script must make, from the plugin's own reading of profile.json. */
function expectedProbes(profile: Profile): string[] {
  return enabledServices(profile).map((s) => {
    const guest = profile.ports.find((p) => p.name === s.port)!.guest;
    return s.scheme === 'ssh' ? `${s.name} ssh ${guest}` : `${s.name} ${s.scheme}://localhost:${guest}${s.path}`;
  });
}

describeIfTools(['nix-instantiate', 'git'])('the VM test of each profile, generated from profile.json', () => {
  jest.setTimeout(60_000);
  let units: { base: string[]; features: Record<string, string[]> };
  beforeAll(async () => {
    units = await evalJson('import ./infra/nixos/lib/service-units.nix');
  });

  it('probes exactly the enabled services of each profile, waits for the units of exactly its enabled features, and expects them on the dashboard', async () => {
    const names = repoProfiles();
    expect(names).toEqual(expect.arrayContaining(['demo', 'development', 'production']));
    for (const name of names) {
      const profile = loadProfile(join(REPO_ROOT, 'profiles', name, 'profile.json'));
      const read = readScript(await scriptOf(`(${PROFILES_EXPR}).${name}`));
      const features = Object.keys(profile.features)
        .sort()
        .filter((f) => profile.features[f] === true);
      expect({ name, probes: read.probes }).toEqual({ name, probes: expectedProbes(profile) });
      expect({ name, units: read.units }).toEqual({ name, units: [...units.base, ...features.flatMap((f) => units.features[f])] });
      expect({ name, dashboard: read.dashboard }).toEqual({ name, dashboard: enabledServices(profile).map((s) => s.name) });
      expect(read.timeout).toBe(profile.readiness?.timeoutSeconds);
    }
    // The development profile runs no Outline, n8n or Penpot: none of their probes or units.
    const dev = readScript(await scriptOf(`(${PROFILES_EXPR}).development`));
    expect(dev.probes.filter((p) => /^(Outline|n8n|Penpot) /.test(p))).toEqual([]);
    expect(dev.units.filter((u) => ['outline.service', 'n8n.service'].includes(u) || u.startsWith('podman-penpot-'))).toEqual([]);
  });

  describe('for a profile.json the repository does not have', () => {
    let dir = '';
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'rave-profile-test-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const write = (json: unknown) => {
      writeFileSync(join(dir, 'profile.json'), JSON.stringify(json));
      return `builtins.fromJSON (builtins.readFile ${join(dir, 'profile.json')})`;
    };
    const base = () => JSON.parse(readRepoFile('profiles/production/profile.json')) as Record<string, unknown> & { services: unknown[]; features: Record<string, boolean> };

    it('adding a service to profile.json adds its probe (with the schema defaults) and its dashboard entry; a disabled one adds neither', async () => {
      const json = base();
      json.features = { ...json.features, penpot: false };
      json.ports = [...(json.ports as unknown[]), { name: 'admin', guest: 8081, host: 18081 }];
      json.services = [
        ...json.services,
        { name: 'Wiki "new"', feature: 'outline', port: 'https', path: '/wiki/' },
        { name: 'Status', port: 'admin' },
        { name: 'Plain', port: 'admin', scheme: 'http', path: '/plain/' },
        { name: 'Boards', feature: 'penpot', port: 'https', path: '/boards/' },
      ];
      const read = readScript(await scriptOf(write(json)));
      expect(read.probes).toEqual(expect.arrayContaining(['Wiki "new" https://localhost:443/wiki/', 'Status https://localhost:8081/', 'Plain http://localhost:8081/plain/']));
      expect(read.probes.filter((p) => /^(Boards|Penpot) /.test(p))).toEqual([]);
      expect(read.dashboard).toEqual(expect.arrayContaining(['Wiki "new"', 'Status', 'Plain']));
      expect(read.dashboard).not.toContain('Boards');
      expect(read.units.filter((u) => u.startsWith('podman-penpot-'))).toEqual([]);
    });

    it('stops with the file and the fix when an enabled feature has no units, or a service names a port that does not exist', async () => {
      const json = base();
      json.features = { ...json.features, wiki: true };
      await expect(scriptOf(write(json))).rejects.toThrow(
        /profiles\/production\/profile\.json: feature "wiki" is enabled, but infra\/nixos\/lib\/service-units\.nix names no units for it; add them there\./,
      );
      const other = base();
      other.services = [...other.services, { name: 'Lost', port: 'nowhere' }];
      await expect(scriptOf(write(other))).rejects.toThrow(/profiles\/production\/profile\.json: service "Lost" names port "nowhere", which "ports" does not define\./);
    });
  });
});

describeIfTools(['nix-instantiate', 'git'])("the flake's checks, offline", () => {
  jest.setTimeout(60_000);
  const services = ['gitlab', 'mattermost', 'monitoring', 'n8n', 'outline', 'penpot'];
  const moduleTestsExpr = (root: string) => `builtins.mapAttrs (_: toString) (import ${join(REPO_ROOT, 'infra/nixos/lib/module-tests.nix')} { root = ${root}; })`;

  it('module-<name> for every folder under infra/nixos with a test.nix: the base configuration and the six service modules', async () => {
    await expect(evalJson(moduleTestsExpr('./infra/nixos'))).resolves.toEqual({
      'module-configs': join(REPO_ROOT, 'infra/nixos/configs/test.nix'),
      ...Object.fromEntries(services.map((s) => [`module-${s}`, join(REPO_ROOT, `infra/nixos/modules/services/${s}/test.nix`)])),
    });
  });

  it('two folders of the same name stop the evaluation, naming both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rave-module-tests-'));
    try {
      for (const folder of ['modules/services/monitoring', 'modules/security/monitoring', 'modules/security/tls', 'modules/services/docs'])
        mkdirSync(join(dir, folder), { recursive: true });
      for (const file of ['modules/services/monitoring/test.nix', 'modules/security/tls/test.nix', 'modules/services/docs/default.nix']) writeFileSync(join(dir, file), '{ }\n');
      await expect(evalJson(moduleTestsExpr(dir))).resolves.toEqual({
        'module-monitoring': join(dir, 'modules/services/monitoring/test.nix'),
        'module-tls': join(dir, 'modules/security/tls/test.nix'),
      });
      writeFileSync(join(dir, 'modules/security/monitoring/test.nix'), '{ }\n');
      await expect(evalJson(moduleTestsExpr(dir))).rejects.toThrow(
        /checks\.module-monitoring: infra\/nixos\/modules\/security\/monitoring\/test\.nix and infra\/nixos\/modules\/services\/monitoring\/test\.nix would both be this check \(module-<folder name>\); rename one of the folders\./,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks.nix gives profile-<name> per profile, module-<name> per module test, and minimal-test as module-configs itself', async () => {
    const checks = await evalJson<Record<string, string>>(
      `import ./infra/nixos/lib/checks.nix {
        profiles = ${PROFILES_EXPR};
        moduleTests = import ./infra/nixos/lib/module-tests.nix { root = ./infra/nixos; };
        profileTest = name: profile: "profile test of \${name} (\${profile.name})";
        moduleTest = test: "module test \${baseNameOf (dirOf test)}";
      }`,
    );
    expect(checks).toEqual({
      ...Object.fromEntries(repoProfiles().map((p) => [`profile-${p}`, `profile test of ${p} (${p})`])),
      'module-configs': 'module test configs',
      ...Object.fromEntries(services.map((s) => [`module-${s}`, `module test ${s}`])),
      'minimal-test': 'module test configs',
    });
    // The same value, not an equal one: one derivation, built once.
    await expect(
      evalJson(
        `let c = import ./infra/nixos/lib/checks.nix { profiles = { }; moduleTests = import ./infra/nixos/lib/module-tests.nix { root = ./infra/nixos; }; profileTest = _: _: null; moduleTest = test: { inherit test; }; }; in c.minimal-test == c.module-configs && c ? module-gitlab`,
      ),
    ).resolves.toBe(true);
  });

  it('flake.nix builds its checks with these helpers', () => {
    const flake = readRepoFile('flake.nix');
    for (const helper of ['./infra/nixos/lib/checks.nix', './infra/nixos/lib/module-tests.nix', './infra/nixos/tests/profile.nix']) expect(flake).toContain(helper);
    expect(flake).not.toContain('minimal.nix');
  });
});
