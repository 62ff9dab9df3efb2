import { existsSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(300_000);

const count = (text: string, part: string) => text.split(part).length - 1;

// A fresh nonce per run: the derivations are new to the store, so every run really builds them.
const nonce = `true ${process.pid}-${Date.now()}; `;
const flake = hermeticFlake({
  packages: {
    development: nonce + '$bb mkdir $out; echo "building the development image"; echo disk > $out/nixos.qcow2',
    broken: 'echo "about to fail"; echo "the last words of the build"; exit 3',
  },
  checks: {
    smoke: nonce + 'echo "smoke test ran"; echo ok > $out',
    failing: 'echo "assertion failed: expected 200"; exit 1',
  },
});

describeIfTools(['nix', 'git'])('build-image and vm-test with real nx and nix', () => {
  let ws: TestWorkspace;

  beforeAll(() => {
    ws = createTestWorkspace({
      files: {
        'flake.nix': flake,
        'profiles/development/profile.json': profileJson(fixtureProfile('development', { tests: ['smoke'] })),
        'profiles/broken/profile.json': profileJson(fixtureProfile('broken', { tests: ['failing'] })),
      },
      pluginOptions: { buildImageTargetName: 'build-image', vmTestDependsOnImage: true },
    });
  });
  afterAll(() => ws?.cleanup());

  it('infers the profile projects with their targets and metadata', () => {
    const projects = ws.nx(['show', 'projects', '--json']);
    expect(projects.code).toBe(0);
    expect(JSON.parse(projects.stdout).sort()).toEqual(['broken', 'development', 'docs', 'repo'].filter((p) => p !== 'docs').sort());

    const shown = ws.nx(['show', 'project', 'development', '--json']);
    expect(shown.code).toBe(0);
    const project = JSON.parse(shown.stdout);
    expect(project.tags).toContain('type:profile');
    const build = project.targets['build-image'];
    expect(build.executor).toBe('@rave/nx-nixos:build-image');
    expect(build.cache).toBe(true);
    expect(build.inputs).toEqual(expect.arrayContaining(['{workspaceRoot}/flake.nix', '{workspaceRoot}/flake.lock', '{projectRoot}/**/*']));
    expect(build.inputs).toContainEqual({ runtime: expect.stringContaining('nix --version') });
    expect(build.metadata.description).toContain('packages.x86_64-linux.development');
    expect(build.metadata.technologies).toEqual(['nix']);
    expect(build.metadata.help.command).toContain('nx-nixos');
    expect(project.targets['vm-test'].dependsOn).toEqual(['build-image']);
  });

  it('builds the image, writes the manifest and out-link, and hits the Nx cache the second time', () => {
    const first = ws.nx(['run', 'development:build-image']);
    expect(first.code).toBe(0);
    const manifestFile = join(ws.root, 'artifacts/images/development/manifest.json');
    const manifestText = readFileSync(manifestFile, 'utf8');
    expect(manifestText).not.toContain(ws.root);
    const manifest = JSON.parse(manifestText);
    expect(manifest).toMatchObject({
      manifestVersion: 1,
      profile: 'development',
      installable: 'packages.x86_64-linux.development',
      image: { kind: 'disk', format: 'qcow2', file: 'nixos.qcow2' },
      sizeBytes: 5,
    });
    expect(manifest.storePath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-development$/);
    expect(manifest.drvPath).toMatch(/\.drv$/);
    expect(manifest.nixVersion).toMatch(/^\d+\.\d+/);
    expect(readlinkSync(join(ws.root, 'artifacts/images/development/result'))).toBe(manifest.storePath);
    expect(readFileSync(join(ws.root, 'artifacts/logs/development/build-image.log'), 'utf8')).toContain('building the development image');

    const second = ws.nx(['run', 'development:build-image']);
    expect(second.code).toBe(0);
    expect(second.output).toMatch(/local cache|from the cache/);
  });

  it('warns that the flake cannot see an untracked profile file, naming the git add to run', () => {
    ws.write('profiles/development/profile.nix', '{ }\n');
    const run = ws.nx(['run', 'development:build-image', '--skip-nx-cache']);
    expect(run.code).toBe(0);
    expect(run.output).toContain('Git does not track profiles/development/profile.nix');
    expect(run.output).toContain('Run: git add profiles/development/profile.nix');
    ws.commit('track profile.nix');
  });

  it('says once, with the fix, when Nix is too old', () => {
    ws.write('.fake-bin/nix', '#!/bin/sh\necho "nix (Nix) 2.3.16"\n');
    ws.run('chmod', ['+x', '.fake-bin/nix']);
    const manifestFile = join(ws.root, 'artifacts/images/development/manifest.json');
    const before = readFileSync(manifestFile, 'utf8');
    const run = ws.nx(['run', 'development:build-image', '--skip-nx-cache'], { env: { PATH: `${ws.root}/.fake-bin:${process.env.PATH}` } });
    expect(run.code).not.toBe(0);
    expect(count(run.output, 'Nix 2.3.16 is too old: version 2.8 or newer is needed.')).toBe(1);
    expect(run.output).toContain('apt-get install nix-bin nix-setup-systemd');
    // Stopped before building: the image built before is still described, unchanged.
    expect(readFileSync(manifestFile, 'utf8')).toBe(before);
    rmSync(join(ws.root, '.fake-bin'), { recursive: true });
    expect(ws.nx(['run', 'development:build-image', '--skip-nx-cache']).code).toBe(0);
  });

  it('runs the VM test check and writes a JUnit report', () => {
    const run = ws.nx(['run', 'development:vm-test']);
    expect(run.code).toBe(0);
    const junit = readFileSync(join(ws.root, 'artifacts/tests/development/junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase classname="development" name="smoke" time="[\d.]+">/);
    expect(junit).toContain('tests="1" failures="0"');
    expect(readFileSync(join(ws.root, 'artifacts/tests/development/smoke.log'), 'utf8')).toContain('smoke test ran');
  });

  it('rebuilds an image whose store path was deleted, so the manifest never dangles', () => {
    const manifest = JSON.parse(readFileSync(join(ws.root, 'artifacts/images/development/manifest.json'), 'utf8'));
    rmSync(join(ws.root, 'artifacts/images/development/result'));
    const deleted = ws.run('nix-store', ['--delete', manifest.storePath]);
    expect(deleted.code).toBe(0);
    expect(existsSync(manifest.storePath)).toBe(false);

    // As on a machine that restored build-image from a remote Nx cache: the manifest is there, the image is not.
    const run = ws.nx(['run', 'development:vm-test', '--skip-nx-cache', '--exclude-task-dependencies']);
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/Image (rebuilt|substituted): \/nix\/store\/\S+-development/);
    const after = JSON.parse(readFileSync(join(ws.root, 'artifacts/images/development/manifest.json'), 'utf8'));
    expect(after.storePath).toBe(manifest.storePath);
    expect(existsSync(after.storePath)).toBe(true);
  });

  it('reports an up-to-date test without building it again', () => {
    const run = ws.nx(['run', 'development:vm-test', '--skip-nx-cache']);
    expect(run.code).toBe(0);
    expect(run.output).toContain('smoke: up to date (derivation unchanged)');
  });

  it('fails a broken build with the failing derivation and its log tail, leaving no manifest', () => {
    const run = ws.nx(['run', 'broken:build-image']);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/Failing derivation: \/nix\/store\/[a-z0-9]{32}-broken\.drv/);
    expect(run.output).toContain('the last words of the build');
    expect(run.output).toContain('Full log: artifacts/logs/broken/build-image.log');
    expect(existsSync(join(ws.root, 'artifacts/images/broken/manifest.json'))).toBe(false);
  });

  it('records a failing VM test as a JUnit failure and exits non-zero', () => {
    ws.write('profiles/broken/profile.json', profileJson(fixtureProfile('broken', { tests: ['failing'], flake: { attribute: 'development', aliases: [] } })));
    ws.commit('broken profile builds the development image');
    const run = ws.nx(['run', 'broken:vm-test']);
    expect(run.code).not.toBe(0);
    const junit = readFileSync(join(ws.root, 'artifacts/tests/broken/junit.xml'), 'utf8');
    expect(junit).toContain('tests="1" failures="1"');
    expect(junit).toContain('assertion failed: expected 200');
  });

  it('fails the graph on a malformed profile.json with the file, the JSON path and the reason', () => {
    ws.write('profiles/bad/profile.json', JSON.stringify({ ...fixtureProfile('bad'), resources: { memoryMiB: 'lots', cpus: 1, diskGiB: 1 } }));
    ws.commit('bad profile');
    const run = ws.nx(['show', 'projects']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('profiles/bad/profile.json');
    expect(run.output).toContain('$.resources.memoryMiB');
    expect(run.output).toMatch(/expected number/i);
    rmSync(join(ws.root, 'profiles/bad'), { recursive: true });
    ws.commit('remove bad profile');
  });
});
