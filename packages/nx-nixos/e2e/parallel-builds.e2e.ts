import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNixSpy, maxConcurrentBuilds, type NixSpy } from '../src/testing/nix-spy';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(300_000);

// Fresh derivations on every run, so that Nix really builds them.
const nonce = () => `true ${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}; `;
const STEPS = ['step1', 'step2', 'step3', 'step4', 'step5', 'step6'];

/** An image made of six independent derivations of one second each. */
function sixStepFlake(): string {
  const n = nonce();
  const steps = Object.fromEntries(STEPS.map((s) => [s, `${n}$bb sleep 1; echo ${s} > $out`]));
  return hermeticFlake({
    packages: {
      ...steps,
      wide: `$bb mkdir $out; ${STEPS.map((s) => `$bb cat \${pkgs.${s}} >> $out/nixos.qcow2`).join('; ')}`,
    },
  });
}

/** The part of Nx's output under one task's header ("> nx run <project>:<target>"), up to the next task. */

function underTask(output: string, project: string, target: string): string {
  const start = output.indexOf(`nx run ${project}:${target}`);
  if (start < 0) return '';
  const next = output.indexOf('> nx run ', start + 1);
  return output.slice(start, next < 0 ? undefined : next);
}

describeIfTools(['nix', 'git', 'bash'])('parallel local builds and batches of profiles', () => {
  let ws: TestWorkspace;
  let spyDir: string;
  let spy: NixSpy;

  const freshSpy = () => {
    spyDir = mkdtempSync(join(tmpdir(), 'nx-nixos-spy-'));
    spy = createNixSpy(spyDir);
    return spy;
  };
  const rebuild = () => {
    ws.write('flake.nix', sixStepFlake());
    ws.commit();
  };

  beforeAll(() => {
    ws = createTestWorkspace({
      files: {
        'flake.nix': sixStepFlake(),
        'profiles/wide/profile.json': profileJson(fixtureProfile('wide')),
      },
    });
  });
  afterEach(() => rmSync(spyDir, { recursive: true, force: true }));
  afterAll(() => ws?.cleanup());

  it('builds independent derivations at the same time by default, and repo:doctor says why', () => {
    freshSpy();
    const result = ws.nx(['run', 'wide:build-image', '--skip-nx-cache'], { env: spy.env });
    expect(result.code).toBe(0);
    const { max, builds } = maxConcurrentBuilds(spy.stream());
    expect(builds).toBe(7);
    expect(max).toBeGreaterThanOrEqual(2);
    const doctor = ws.nx(['run', 'repo:doctor']);
    expect(doctor.output).toMatch(/build jobs\s+max-jobs \d+ \(nx-nixos default \(one job per CPU, \d+ CPUs\)\), cores \d+ \(nx-nixos default/);
  });

  it('honours max-jobs = 1 from the user\'s nix.conf: one build at a time', () => {
    rebuild();
    freshSpy();
    const config = join(spyDir, 'config');
    mkdirSync(join(config, 'nix'), { recursive: true });
    writeFileSync(join(config, 'nix', 'nix.conf'), 'max-jobs = 1\n');
    const env = { ...spy.env, XDG_CONFIG_HOME: config };
    const result = ws.nx(['run', 'wide:build-image', '--skip-nx-cache'], { env });
    expect(result.code).toBe(0);
    expect(maxConcurrentBuilds(spy.stream())).toEqual({ max: 1, builds: 7 });
    const doctor = ws.nx(['run', 'repo:doctor'], { env });
    expect(doctor.output).toContain(`max-jobs 1 (${join(config, 'nix', 'nix.conf')})`);
    expect(doctor.output).toContain('derivations build one at a time');
  });
});

describeIfTools(['nix', 'git', 'bash'])('build-image --batch: one nix build for many profiles', () => {
  let ws: TestWorkspace;
  let spyDir: string;

  const profiles = ['alpha', 'beta', 'gamma'];
  const flake = (broken: string | undefined) => {
    const n = nonce();
    return hermeticFlake({
      packages: Object.fromEntries(
        profiles.map((p) => [p, p === broken ? 'echo "about to fail"; echo "the last words of the build"; exit 3' : `${n}$bb mkdir $out; echo ${p} > $out/nixos.qcow2`]),
      ),
      checks: Object.fromEntries(profiles.map((p) => [`smoke-${p}`, p === broken ? 'echo "assertion failed: expected 200"; exit 1' : `${n}echo ok > $out`])),
    });
  };

  beforeAll(() => {
    ws = createTestWorkspace({
      files: {
        'flake.nix': flake(undefined),
        ...Object.fromEntries(profiles.map((p) => [`profiles/${p}/profile.json`, profileJson(fixtureProfile(p, { tests: [`smoke-${p}`] }))])),
      },
    });
  });
  beforeEach(() => {
    spyDir = mkdtempSync(join(tmpdir(), 'nx-nixos-spy-'));
  });
  afterEach(() => rmSync(spyDir, { recursive: true, force: true }));
  afterAll(() => ws?.cleanup());

  const manifest = (p: string) => join(ws.root, 'artifacts/images', p, 'manifest.json');

  it('builds three profiles with one nix build and writes three manifests and out-links', () => {
    const spy = createNixSpy(spyDir);
    const result = ws.nx(['run-many', '-t', 'build-image', '--batch', '--skip-nx-cache'], { env: spy.env });
    expect(result.code).toBe(0);
    expect(spy.buildCalls()).toHaveLength(1);
    expect(spy.buildCalls()[0]).toContain('--keep-going');
    expect(spy.calls().filter((args) => args.includes('eval'))).toHaveLength(1);
    for (const p of profiles) {
      const written = JSON.parse(readFileSync(manifest(p), 'utf8'));
      expect(written).toMatchObject({ profile: p, installable: `packages.x86_64-linux.${p}` });
      expect(readFileSync(join(written.storePath, 'nixos.qcow2'), 'utf8')).toBe(`${p}\n`);
      expect(readFileSync(join(ws.root, 'artifacts/images', p, 'result/nixos.qcow2'), 'utf8')).toBe(`${p}\n`);
      expect(underTask(result.output, p, 'build-image')).toContain(`manifest: artifacts/images/${p}/manifest.json`);
    }
    expect(result.output).toMatch(/build-image: 3 profile\(s\) in one nix build: (alpha|beta|gamma), (alpha|beta|gamma), (alpha|beta|gamma)/);
  });

  it('fails only the task of a failing profile, with its log tail under that task', () => {
    ws.write('flake.nix', flake('beta'));
    ws.commit();
    for (const p of profiles) rmSync(join(ws.root, 'artifacts/images', p), { recursive: true, force: true });
    const spy = createNixSpy(spyDir);
    const result = ws.nx(['run-many', '-t', 'build-image', '--batch', '--skip-nx-cache'], { env: spy.env });
    expect(result.code).not.toBe(0);
    expect(spy.buildCalls()).toHaveLength(1);
    expect(existsSync(manifest('alpha'))).toBe(true);
    expect(existsSync(manifest('gamma'))).toBe(true);
    expect(existsSync(manifest('beta'))).toBe(false);
    const beta = underTask(result.output, 'beta', 'build-image');
    expect(beta).toContain('nix build .#packages.x86_64-linux.beta failed.');
    expect(beta).toMatch(/Failing derivation: \/nix\/store\/[a-z0-9]{32}-beta\.drv/);
    expect(beta).toContain('the last words of the build');
    expect(underTask(result.output, 'alpha', 'build-image')).not.toContain('the last words of the build');
    expect(result.output).toMatch(/Failed tasks:[\s\S]*beta:build-image/);
    expect(result.output).not.toMatch(/Failed tasks:[\s\S]*(alpha|gamma):build-image/);
  });

  it('fails only the task of a profile whose evaluation fails, with Nix\'s error under it', () => {
    const n = nonce();
    ws.write(
      'flake.nix',
      hermeticFlake({
        packages: Object.fromEntries(
          profiles.map((p) => [p, p === 'gamma' ? '${throw "the gamma profile cannot be evaluated"}' : `${n}$bb mkdir $out; echo ${p} > $out/nixos.qcow2`]),
        ),
      }),
    );
    ws.commit();
    const spy = createNixSpy(spyDir);
    const result = ws.nx(['run-many', '-t', 'build-image', '--batch', '--skip-nx-cache'], { env: spy.env });
    expect(result.code).not.toBe(0);
    expect(spy.buildCalls()).toHaveLength(1);
    expect(underTask(result.output, 'gamma', 'build-image')).toContain('the gamma profile cannot be evaluated');
    expect(underTask(result.output, 'alpha', 'build-image')).toContain('manifest: artifacts/images/alpha/manifest.json');
    expect(result.output).toMatch(/Failed tasks:[\s\S]*gamma:build-image/);
    expect(result.output).not.toMatch(/Failed tasks:[\s\S]*(alpha|beta):build-image/);
  });

  it('runs the VM tests of three profiles with one nix build; each gets its JUnit report and its own status', () => {
    ws.write('flake.nix', flake('beta'));
    ws.commit();
    const spy = createNixSpy(spyDir);
    const result = ws.nx(['run-many', '-t', 'vm-test', '--batch', '--skip-nx-cache'], { env: spy.env });
    expect(result.code).not.toBe(0);
    expect(spy.buildCalls()).toHaveLength(1);
    for (const p of profiles) expect(readFileSync(join(ws.root, 'artifacts/tests', p, 'junit.xml'), 'utf8')).toContain(`smoke-${p}`);
    expect(readFileSync(join(ws.root, 'artifacts/tests/beta/junit.xml'), 'utf8')).toContain('<failure');
    expect(readFileSync(join(ws.root, 'artifacts/tests/alpha/junit.xml'), 'utf8')).not.toContain('<failure');
    expect(underTask(result.output, 'beta', 'vm-test')).toContain('assertion failed: expected 200');
    expect(underTask(result.output, 'alpha', 'vm-test')).toContain('alpha: 1/1 VM test(s) passed');
    expect(result.output).toMatch(/Failed tasks:[\s\S]*beta:vm-test/);
    expect(result.output).not.toMatch(/Failed tasks:[\s\S]*(alpha|gamma):vm-test/);
  });
});
