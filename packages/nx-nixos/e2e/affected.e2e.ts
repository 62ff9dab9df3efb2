import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, profileJson, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(600_000);

const PROFILES = ['alpha', 'beta', 'gamma'];
// A fresh nonce per run: the first build of each image is real, so "built nothing" later means something.
const nonce = `${process.pid}-${Date.now()}`;

/**
 * A hermetic flake whose image of each profile is the text its profile.nix evaluates to, so a profile's
 * derivation changes exactly when a value in its module closure changes. profiles/ is read dynamically.
 */
const flake = `{
  description = "affected fixture";
  outputs = { self }:
    let
      system = "x86_64-linux";
      mk = name: script: derivation {
        inherit name system;
        builder = "\${./bin}/busybox";
        args = [ "sh" "-c" ("bb=\${./bin}/busybox; set -e; " + script) ];
      };
      names = builtins.attrNames (builtins.readDir ./profiles);
      text = name: (import (./profiles + "/\${name}/profile.nix")).text;
      forAll = f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
    in {
      packages.\${system} = forAll (name:
        mk name "true ${nonce}; $bb mkdir $out; echo '\${text name}' > $out/nixos.qcow2");
      checks.\${system} = builtins.listToAttrs (map (name: {
        name = "smoke-\${name}";
        value = mk "smoke-\${name}" "$bb grep -q . \${self.packages.\${system}.\${name}}/nixos.qcow2; echo ok > $out";
      }) names);
    };
}
`;

const modules = {
  'infra/nixos/modules/shared.nix': '{ motd = "shared v1"; }\n',
  'infra/nixos/modules/alpha/default.nix': '{ port = 8080; }\n',
  'infra/nixos/modules/gamma/default.nix': '{ role = "gamma v1"; }\n',
};

const profileNix = {
  alpha:
    'let shared = import ../../infra/nixos/modules/shared.nix; own = import ../../infra/nixos/modules/alpha;\n' +
    'in { text = "alpha ${shared.motd} ${toString own.port}"; }\n',
  beta: 'let shared = import ../../infra/nixos/modules/shared.nix; in { text = "beta ${shared.motd}"; }\n',
  gamma: '{ text = "gamma ${(import ../../infra/nixos/modules/gamma).role}"; }\n',
};

const FLAKE_LOCK = JSON.stringify({ nodes: { root: {} }, root: 'root', version: 7 }, null, 2) + '\n';

describeIfTools(['nix', 'git'])('nx affected follows the Nix import graph; Nix confirms what is up to date', () => {
  let ws: TestWorkspace;

  const head = () => {
    const r = ws.run('git', ['rev-parse', 'HEAD']);
    expect(r.code).toBe(0);
    return r.stdout.trim();
  };
  const read = (path: string) => readFileSync(join(ws.root, path), 'utf8');

  /** Profiles `nx show projects --affected` reports for one committed edit of `path`, which is then undone. */
  const affectedBy = (path: string, edit: (text: string) => string): string[] => {
    const base = head();
    const original = read(path);
    ws.write(path, edit(original));
    ws.commit(`edit ${path}`);
    expect(head()).not.toBe(base);
    try {
      const r = ws.nx(['show', 'projects', '--affected', `--base=${base}`, '--head=HEAD', '--json']);
      expect(r.output).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as string[]).filter((p) => PROFILES.includes(p)).sort();
    } finally {
      ws.write(path, original);
      ws.commit(`restore ${path}`);
    }
  };

  beforeAll(() => {
    const files: Record<string, string> = {
      'flake.nix': flake,
      'flake.lock': FLAKE_LOCK,
      'docs/guide.md': '# Guide\n\nHow the profiles are used.\n',
      ...modules,
    };
    for (const name of PROFILES) {
      files[`profiles/${name}/profile.json`] = profileJson(fixtureProfile(name, { tests: [`smoke-${name}`] }));
      files[`profiles/${name}/profile.nix`] = profileNix[name as keyof typeof profileNix];
    }
    ws = createTestWorkspace({ files });
  });
  afterAll(() => ws?.cleanup());

  it('shows profile -> module edges in the project graph', () => {
    const r = ws.nx(['graph', '--file=graph.json']);
    expect(r.code).toBe(0);
    const deps: Record<string, { target: string }[]> = JSON.parse(read('graph.json')).graph.dependencies;
    const targets = (p: string) => deps[p].map((d) => d.target).sort();
    const moduleProjects = (p: string) => targets(p).filter((t) => t.startsWith('nix-'));
    expect(moduleProjects('alpha')).toEqual(['nix-modules', 'nix-modules-alpha']);
    expect(moduleProjects('beta')).toEqual(['nix-modules']);
    expect(moduleProjects('gamma')).toEqual(['nix-modules-gamma']);
  });

  it('marks every user of a shared module affected, and only them', () => {
    expect(affectedBy('infra/nixos/modules/shared.nix', (t) => t.replace('v1', 'v2'))).toEqual(['alpha', 'beta']);
  });

  // Module projects are folders: Nx marks every dependent of a touched project, so a module meant for one
  // profile lives in a folder of its own (infra/nixos/modules/<name>/default.nix).
  it('marks only the one profile that uses a module', () => {
    expect(affectedBy('infra/nixos/modules/alpha/default.nix', (t) => t.replace('8080', '8081'))).toEqual(['alpha']);
    expect(affectedBy('infra/nixos/modules/gamma/default.nix', (t) => t.replace('v1', 'v2'))).toEqual(['gamma']);
    expect(affectedBy('profiles/beta/profile.nix', (t) => t.replace('beta ', 'beta: '))).toEqual(['beta']);
  });

  it('marks no profile for a documentation change', () => {
    expect(affectedBy('docs/guide.md', (t) => t + '\nMore words.\n')).toEqual([]);
  });

  it('marks every profile for flake.lock and flake.nix', () => {
    expect(affectedBy('flake.lock', (t) => t.replace('"version": 7', '"version":  7'))).toEqual(PROFILES);
    expect(affectedBy('flake.nix', (t) => t.replace('affected fixture', 'affected fixture, edited'))).toEqual(PROFILES);
  });

  it('reports up to date and builds nothing when an affected profile keeps its derivation', () => {
    const first = ws.nx(['run', 'alpha:vm-test', '--skip-nx-cache']);
    expect(first.code).toBe(0);
    expect(first.output).toMatch(/smoke-alpha: passed \([1-9]\d* derivation\(s\) built\)/);

    // A comment changes the module file, so Nx marks its users affected, but not what Nix evaluates.
    const base = head();
    ws.write('infra/nixos/modules/shared.nix', '# the message of the day\n' + read('infra/nixos/modules/shared.nix'));
    ws.commit('comment in the shared module');
    const affected = ws.nx(['show', 'projects', '--affected', `--base=${base}`, '--head=HEAD', '--json']);
    expect(affected.code).toBe(0);
    expect(JSON.parse(affected.stdout)).toEqual(expect.arrayContaining(['alpha', 'beta']));

    const build = ws.nx(['run', 'alpha:build-image', '--skip-nx-cache']);
    expect(build.code).toBe(0);
    expect(build.output).toContain('alpha: up to date (derivation unchanged)');
    expect(build.output).toMatch(/alpha: built 0, substituted 0/);

    const test = ws.nx(['run', 'alpha:vm-test', '--skip-nx-cache']);
    expect(test.code).toBe(0);
    expect(test.output).toContain('smoke-alpha: up to date (derivation unchanged)');
    expect(test.output).not.toMatch(/[1-9]\d* derivation\(s\) built/);
    expect(read('artifacts/tests/alpha/junit.xml')).toContain('up to date (derivation unchanged)');
  });
});
