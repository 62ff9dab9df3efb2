import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, REPO_ROOT, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(300_000);

const nonce = `true ${process.pid}-${Date.now()}; `;
const count = (text: string, part: string) => text.split(part).length - 1;
const NO_GROUP = 'build-users-group = rave-no-such-group\nsubstituters =';
const FAKE_REV = '0123456789abcdef0123456789abcdef01234567';

/** A flake.lock that pins nixpkgs to a revision that is not in the store (fetching it needs the network). */
const lockWithNixpkgs = JSON.stringify(
  {
    nodes: {
      nixpkgs: {
        locked: { lastModified: 1787204541, narHash: 'sha256-OURZPknrTjQrlNyxPdqzyqmU/81Wes1CUP/Ft1Rv/YI=', owner: 'NixOS', repo: 'nixpkgs', rev: FAKE_REV, type: 'github' },
        original: { owner: 'NixOS', ref: 'nixos-26.05', repo: 'nixpkgs', type: 'github' },
      },
      root: { inputs: { nixpkgs: 'nixpkgs' } },
    },
    root: 'root',
    version: 7,
  },
  null,
  2,
);

describeIfTools(['nix', 'git'])('host problems: doctor and the executors name the cause once, with its fix', () => {
  let ws: TestWorkspace;

  beforeAll(() => {
    ws = createTestWorkspace({
      files: {
        'flake.nix': hermeticFlake({
          packages: { development: nonce + '$bb mkdir $out; echo disk > $out/nixos.qcow2' },
          checks: { first: nonce + 'echo ok > $out', second: nonce + 'echo ok > $out' },
        }),
        'profiles/development/profile.json': profileJson(fixtureProfile('development', { tests: ['first', 'second'] })),
        'profiles/kvm/profile.json': profileJson(
          fixtureProfile('kvm', { flake: { attribute: 'development', aliases: [] }, image: { kind: 'disk', format: 'qcow2', file: 'nixos.qcow2', requiredSystemFeatures: ['kvm'] } }),
        ),
      },
    });
  });
  afterAll(() => ws?.cleanup());

  it('doctor proves Nix works by building a derivation', () => {
    const run = ws.nx(['run', 'repo:doctor']);
    expect(run.output).toMatch(/ok {3}nix build {11}built a test derivation in the Nix store/);
    expect(run.output).not.toContain('FAIL nix');
  });

  it('without Nix installed: doctor fails and says how to install it', () => {
    const bin = join(ws.root, '.no-nix-bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['node', 'git', 'sh', 'qemu-system-x86_64', 'qemu-img']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bin, tool));
    }
    const doctor = ws.nx(['run', 'repo:doctor'], { env: { PATH: bin } });
    rmSync(bin, { recursive: true, force: true });
    expect(doctor.code).not.toBe(0);
    expect(doctor.output).toContain('FAIL nix                 nix was not found on PATH');
    expect(doctor.output).toContain('sudo apt-get install nix-bin nix-setup-systemd');
  });

  it('without the build users group: doctor fails with the fix, and build-image says the cause and the fix once each', () => {
    const doctor = ws.nx(['run', 'repo:doctor'], { env: { NIX_CONFIG: NO_GROUP } });
    expect(doctor.code).not.toBe(0);
    expect(doctor.output).toContain('FAIL nix build           cannot build: Nix builds as the members of the group "rave-no-such-group"');
    expect(doctor.output).toContain('nix-setup-systemd');
    expect(doctor.output).toContain('`build-users-group =`');

    const build = ws.nx(['run', 'development:build-image', '--skip-nx-cache'], { env: { NIX_CONFIG: NO_GROUP } });
    expect(build.code).not.toBe(0);
    expect(count(build.output, "the group 'rave-no-such-group' specified in 'build-users-group' does not exist")).toBe(1);
    expect(count(build.output, 'sudo apt-get install nix-setup-systemd')).toBe(1);
    expect(existsSync(join(ws.root, 'artifacts/images/development/manifest.json'))).toBe(false);
  });

  it('with a store this user cannot use: doctor fails and names the fix', () => {
    const doctor = ws.nx(['run', 'repo:doctor'], { env: { NIX_REMOTE: 'daemon', NIX_DAEMON_SOCKET_PATH: join(ws.root, 'no-daemon.sock') } });
    expect(doctor.code).not.toBe(0);
    expect(doctor.output).toMatch(/FAIL nix build {11}cannot build: the Nix daemon does not answer \(.*no-daemon\.sock\)/);
    expect(doctor.output).toContain('nix-daemon.socket');
  });

  it('an error Nix gives that doctor does not know is shown verbatim', () => {
    const doctor = ws.nx(['run', 'repo:doctor'], { env: { NIX_CONFIG: 'substituters =\nsandbox = true\nsandbox-paths = /rave-no-such-path' } });
    expect(doctor.code).not.toBe(0);
    expect(doctor.output).toMatch(/FAIL nix build {11}cannot build a test derivation; Nix said:\n.*rave-no-such-path/);
  });

  it('a profile whose image needs kvm stops before building when neither this machine nor a builder has it', () => {
    const run = ws.nx(['run', 'kvm:build-image', '--skip-nx-cache', '--systemFeatures=nixos-test']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('The image of profile "kvm" (image.requiredSystemFeatures in profiles/kvm/profile.json) needs a builder with {kvm}');
    expect(run.output).toContain('Nothing was built.');
    expect(run.output).toContain('remote builder that has kvm');
    expect(existsSync(join(ws.root, 'artifacts/logs/kvm/build-image.log'))).toBe(false);

    const doctor = ws.nx(['run', 'repo:doctor'], { env: { NIX_CONFIG: 'substituters =\nsystem-features = nixos-test\nbuilders = ssh-ng://kvm-builder x86_64-linux - 1 1 kvm' } });
    expect(doctor.output).toContain('ok   build features      kvm:build-image need kvm: ssh-ng://kvm-builder');
    const without = ws.nx(['run', 'repo:doctor'], { env: { NIX_CONFIG: 'substituters =\nsystem-features = nixos-test\nbuilders =' } });
    expect(without.output).toMatch(/warn build features {6}kvm:build-image needs a builder with \{kvm\}/);
  });

  it('a binary cache that cannot be reached is dropped at its first failure and the build goes on', () => {
    const run = ws.nx(['run', 'development:build-image', '--skip-nx-cache'], {
      env: { NIX_CONFIG: 'substituters = http://rave-cache.invalid' },
    });
    expect(run.code).toBe(0);
    expect(count(run.output, 'no network: http://rave-cache.invalid (')).toBe(1);
    expect(run.output).not.toContain('retrying');
  });

  it('vm-test says a host problem once for all its tests, not as a failure of each', () => {
    const run = ws.nx(['run', 'development:vm-test', '--skip-nx-cache', '--exclude-task-dependencies'], { env: { NIX_CONFIG: NO_GROUP } });
    expect(run.code).not.toBe(0);
    expect(count(run.output, "the group 'rave-no-such-group' specified in 'build-users-group' does not exist")).toBe(1);
    expect(count(run.output, 'sudo apt-get install nix-setup-systemd')).toBe(1);
    expect(run.output).not.toContain('first: FAILED');
  });
});

describeIfTools(['nix', 'git'])('a flake whose pinned nixpkgs is not in the store', () => {
  let ws: TestWorkspace;

  beforeAll(() => {
    ws = createTestWorkspace({
      files: {
        'flake.nix': `{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
  outputs = { self, nixpkgs }: { packages.x86_64-linux.development = nixpkgs.legacyPackages.x86_64-linux.hello; };
}
`,
        'flake.lock': lockWithNixpkgs,
        'profiles/development/profile.json': profileJson(fixtureProfile('development')),
      },
    });
  });
  afterAll(() => ws?.cleanup());

  it('without network: one message naming the pinned revision, without waiting out retries', () => {
    const run = ws.nx(['run', 'development:build-image', '--skip-nx-cache']);
    expect(run.code).not.toBe(0);
    expect(count(run.output, `no network: could not fetch nixpkgs (NixOS/nixpkgs at ${FAKE_REV}, pinned in flake.lock)`)).toBe(1);
    expect(run.output).toContain('use --offline');
    expect(run.output).not.toContain('retrying');
  });

  it('with --offline: the revision is named and the way out is a build with network', () => {
    const run = ws.nx(['run', 'development:build-image', '--skip-nx-cache', '--offline']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(`could not fetch nixpkgs (NixOS/nixpkgs at ${FAKE_REV}, pinned in flake.lock)`);
    expect(run.output).toContain('with --offline everything must already be in the local store');
  });

  it('with a Nix older than the pinned nixpkgs needs: doctor and build-image stop before evaluating, naming the version', () => {
    ws.write('nix-requirements.json', JSON.stringify({ minimumNixVersion: '99.1.0', nixpkgsRev: FAKE_REV }) + '\n');
    ws.commit('record the Nix version nixpkgs needs');
    rmSync(join(ws.root, 'artifacts/logs'), { recursive: true, force: true });
    const doctor = ws.nx(['run', 'repo:doctor']);
    expect(doctor.code).not.toBe(0);
    expect(doctor.output).toMatch(/FAIL nix for flake {7}Nix [\d.]+ is older than the 99\.1\.0 this flake needs \(nix-requirements\.json/);
    const build = ws.nx(['run', 'development:build-image', '--skip-nx-cache']);
    expect(build.code).not.toBe(0);
    expect(build.output).toMatch(/Nix [\d.]+ is too old for this flake: it needs Nix 99\.1\.0 or newer/);
    expect(build.output).not.toContain('no network');
    expect(existsSync(join(ws.root, 'artifacts/logs/development/build-image.log'))).toBe(false);
  });

  it('reads the version from lib/minver.nix of the pinned nixpkgs once its source is in the store', () => {
    const source = mkdtempSync(join(tmpdir(), 'fake-nixpkgs-'));
    try {
      mkdirSync(join(source, 'lib'));
      writeFileSync(join(source, 'lib', 'minver.nix'), '"98.0.0"\n');
      const narHash = spawnSync('nix', ['--extra-experimental-features', 'nix-command', 'hash', 'path', source], { encoding: 'utf8' }).stdout.trim();
      const added = spawnSync('nix', ['--extra-experimental-features', 'nix-command', 'store', 'add-path', '--name', 'source', source], { encoding: 'utf8' });
      expect(added.status).toBe(0);
      const lock = JSON.parse(lockWithNixpkgs);
      lock.nodes.nixpkgs.locked.narHash = narHash;
      ws.write('flake.lock', JSON.stringify(lock, null, 2));
      ws.commit('pin the fake nixpkgs');
      const doctor = ws.nx(['run', 'repo:doctor']);
      expect(doctor.output).toContain(`is older than the 98.0.0 this flake needs (lib/minver.nix of nixpkgs (NixOS/nixpkgs at ${FAKE_REV}, pinned in flake.lock))`);
    } finally {
      rmSync(source, { recursive: true, force: true });
    }
  });
});

describeIfTools(['nix', 'git', 'script'])('the repository itself', () => {
  it('nix flake metadata reads the committed flake.lock offline: nixpkgs and sops-nix locked', () => {
    const run = spawnSync('nix', ['--extra-experimental-features', 'nix-command flakes', 'flake', 'metadata', '--json', '--offline'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, NIX_CONFIG: 'substituters =' },
    });
    expect(run.stderr).not.toMatch(/error/);
    const { locks } = JSON.parse(run.stdout);
    expect(locks.nodes.nixpkgs.locked).toMatchObject({ type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(locks.nodes.nixpkgs.original.ref).toBe('nixos-26.05');
    expect(locks.nodes['sops-nix'].locked).toMatchObject({ owner: 'Mic92', repo: 'sops-nix', rev: '56b24064fdcaedca53553b1a6d607fd23b613a24' });
    expect(locks.nodes['sops-nix'].inputs.nixpkgs).toEqual(['nixpkgs']);
  });

  it('nx.json decides analytics, so an interactive nx neither prompts nor rewrites it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nx-analytics-'));
    try {
      const nxJson = readFileSync(join(REPO_ROOT, 'nx.json'), 'utf8');
      expect(typeof JSON.parse(nxJson).analytics).toBe('boolean');
      writeFileSync(join(dir, 'nx.json'), JSON.stringify({ analytics: JSON.parse(nxJson).analytics }));
      writeFileSync(join(dir, 'package.json'), '{"name": "analytics-check", "private": true}');
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
      // `script` gives nx a terminal, as a developer's shell does; outside CI that is when Nx asks.
      const env: NodeJS.ProcessEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
      delete env.CI;
      const run = spawnSync('script', ['-qec', `${join(REPO_ROOT, 'node_modules/.bin/nx')} show projects`, '/dev/null'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
      expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({ status: 0, output: expect.not.stringContaining('usage data') });
      expect(readFileSync(join(dir, 'nx.json'), 'utf8')).toBe(JSON.stringify({ analytics: JSON.parse(nxJson).analytics }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
