import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ensureVmFixture, FIXTURE_IMAGE_SCRIPT, fixtureFiles, fixtureVmProfile } from '../../../../../tools/fixtures/vm-fixture';
import { finished, processesWhere, qemusUnder, waitFor } from '../../testing/processes';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, hermeticFlake, profileJson, REPO_ROOT, testEnv, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const HOST_PORT = 25080 + (process.pid % 500);
const COPY = FIXTURE_IMAGE_SCRIPT;

/** The image's manifest and GC root must be exactly what the last successful build left. */
describeIfTools(['nix', 'nix-store', 'git', 'qemu-system-x86_64', 'apt-get', 'dpkg', 'cpio'])('launch checks the image manifest against the store and profile.json (real nx and nix)', () => {
  let ws: TestWorkspace;
  let fixture: ReturnType<typeof ensureVmFixture>;
  const manifestFile = () => join(ws.root, 'artifacts/images/fixture/manifest.json');
  const gcRoot = () => readlinkSync(join(ws.root, 'artifacts/images/fixture/result'));
  const flake = (fixtureScript: string) =>
    hermeticFlake({
      packages: {
        fixture: fixtureScript,
        decoy: `${COPY}; $bb echo decoy > $out/name`,
        escape: '$bb mkdir $out; $bb ln -s /etc/passwd $out/vmlinuz; $bb cp ${./vm/initrd.cpio} $out/initrd.cpio',
      },
    });
  let manifest: string;
  let storePath: string;

  beforeAll(() => {
    fixture = ensureVmFixture((line) => console.log(line));
    const profile = (name: string) => profileJson(fixtureVmProfile(fixture, name, HOST_PORT));
    ws = createTestWorkspace({
      files: {
        'flake.nix': flake(COPY),
        ...fixtureFiles(fixture),
        'profiles/fixture/profile.json': profile('fixture'),
        'profiles/fixture/project.json': JSON.stringify({ targets: { start: { options: { accel: 'tcg' } } } }),
        'profiles/decoy/profile.json': profile('decoy'),
        'profiles/escape/profile.json': profile('escape'),
      },
    });
    for (const p of ['fixture', 'decoy']) {
      const built = ws.nx(['run', `${p}:build-image`]);
      if (built.code !== 0) throw new Error(`build-image ${p} failed:\n${built.output}`);
    }
    manifest = readFileSync(manifestFile(), 'utf8');
    storePath = JSON.parse(manifest).storePath;
  });
  afterEach(() => {
    writeFileSync(manifestFile(), manifest);
    ws.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
  });
  afterAll(() => ws?.cleanup());

  const forge = (change: (m: { storePath: string; image: Record<string, string> }) => void) => {
    const m = JSON.parse(manifest) as { storePath: string; image: Record<string, string> };
    change(m);
    writeFileSync(manifestFile(), JSON.stringify(m, null, 2));
  };

  it('refuses a manifest whose storePath is another store path, and leaves the GC root on the real image', () => {
    const decoy = JSON.parse(readFileSync(join(ws.root, 'artifacts/images/decoy/manifest.json'), 'utf8')).storePath;
    forge((m) => (m.storePath = decoy));
    const run = ws.nx(['run', 'fixture:start']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(`artifacts/images/fixture/manifest.json: storePath ${decoy} is not an output of drvPath ${JSON.parse(manifest).drvPath}`);
    expect(run.output).toContain('npx nx run fixture:build-image');
    expect(gcRoot()).toBe(storePath);
    expect(qemusUnder(join(ws.root, 'artifacts/vms'))).toEqual([]);
  });

  it('refuses image paths that climb out of the store path ("..")', () => {
    const decoy = JSON.parse(readFileSync(join(ws.root, 'artifacts/images/decoy/manifest.json'), 'utf8')).storePath;
    forge((m) => (m.image.kernel = `../${basename(decoy)}/vmlinuz`));
    const run = ws.nx(['run', 'fixture:start']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('artifacts/images/fixture/manifest.json is invalid: image.kernel: must be a relative path inside storePath');
    expect(gcRoot()).toBe(storePath);
    expect(qemusUnder(join(ws.root, 'artifacts/vms'))).toEqual([]);
  });

  it('build-image refuses an image file that is a symlink out of the build output, and writes no manifest', () => {
    const run = ws.nx(['run', 'escape:build-image']);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/its output does not hold the image: image\.kernel: vmlinuz leads to \/etc\/passwd, outside \/nix\/store\/\w{32}-escape/);
    expect(existsSync(join(ws.root, 'artifacts/images/escape/manifest.json'))).toBe(false);
  });

  it('says the image is out of date when profile.json changed its image since the build, with the command to rebuild', async () => {
    const file = join(ws.root, 'profiles/fixture/profile.json');
    const original = readFileSync(file, 'utf8');
    const edited = JSON.parse(original);
    edited.image.cmdline = `${fixture.cmdline} edited=1`;
    writeFileSync(file, JSON.stringify(edited, null, 2));
    try {
      const run = ws.nx(['run', 'fixture:start']);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(
        `The image of fixture is out of date: profiles/fixture/profile.json changed since it was built (image.cmdline is "${fixture.cmdline}" in the manifest, "${fixture.cmdline} edited=1" now). Rebuild the image: npx nx run fixture:build-image`,
      );
      expect(qemusUnder(join(ws.root, 'artifacts/vms'))).toEqual([]);
    } finally {
      writeFileSync(file, original);
    }
    // The same manifest, with profile.json as it was built from, boots.
    const run = ws.nx(['run', 'fixture:start']);
    expect(run.code).toBe(0);
    expect(run.output).toContain('fixture is ready');
  });

  it('a failed or interrupted rebuild keeps the previous manifest and GC root', async () => {
    const rebuild = (script: string) => {
      ws.write('flake.nix', flake(script));
      ws.commit(`fixture: ${script}`);
    };
    try {
      rebuild(`${COPY}; exit 3`);
      const failed = ws.nx(['run', 'fixture:build-image']);
      expect(failed.code).not.toBe(0);
      expect(readFileSync(manifestFile(), 'utf8')).toBe(manifest);
      expect(gcRoot()).toBe(storePath);

      rebuild(`$bb sleep 120; ${COPY}`);
      const child = spawn(join(REPO_ROOT, 'node_modules/.bin/nx'), ['run', 'fixture:build-image'], { cwd: ws.root, env: testEnv(), stdio: 'ignore', detached: true });
      const exited = new Promise((r) => child.on('exit', r));
      // Interrupted once the builder runs.
      const building = () =>
        readdirSync('/proc').some((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('$bb sleep 120;');
          } catch {
            return false;
          }
        });
      for (let i = 0; i < 600 && !building(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(building()).toBe(true);
      process.kill(-child.pid!, 'SIGINT');
      await exited;
      expect(readFileSync(manifestFile(), 'utf8')).toBe(manifest);
      expect(gcRoot()).toBe(storePath);
    } finally {
      rebuild(COPY);
    }
  });

  it('a builder or a nix killed from outside (as by the OOM killer) is reported as killed, not as a failing build, and keeps the manifest', async () => {
    ws.write('flake.nix', flake(`$bb sleep 120; ${COPY}`));
    ws.commit('fixture: slow');
    const builder = () => processesWhere((cmdline) => cmdline.includes('$bb sleep 120;') && !cmdline.startsWith('nix\0'));
    const nixBuild = () =>
      processesWhere((cmdline, pid) => cmdline.startsWith('nix\0') && cmdline.includes('\0build\0') && readlinkSync(`/proc/${pid}/cwd`) === ws.root);
    // `target` is a PID, or a process group as a negative PID.
    const buildKilling = async (find: () => number[]) => {
      const run = finished(spawn(join(REPO_ROOT, 'node_modules/.bin/nx'), ['run', 'fixture:build-image', '--skip-nx-cache'], { cwd: ws.root, env: testEnv() }));
      await waitFor(builder, 60_000, 'the builder');
      for (const target of await waitFor(find, 10_000, 'the process to kill')) process.kill(target, 'SIGKILL');
      return run;
    };
    try {
      // Nix starts the builder as the leader of its own process group: the whole group, so that no sleep is left holding its output.
      const builderKilled = await buildKilling(() => builder().map((pid) => -pid));
      expect(builderKilled.code).not.toBe(0);
      expect(builderKilled.output).toContain('The builder was killed by signal 9, not stopped by a failing command: most often the kernel\'s out-of-memory killer');
      expect(readFileSync(manifestFile(), 'utf8')).toBe(manifest);

      const nixKilled = await buildKilling(nixBuild);
      expect(nixKilled.code).not.toBe(0);
      expect(nixKilled.output).toMatch(/nix build \S+ did not finish: the nix process was killed by SIGKILL, most often the kernel's out-of-memory killer/);
      expect(nixKilled.output).toContain('This is not a failure of the build itself; nothing was recorded.');
      expect(nixKilled.output).not.toMatch(/Failing derivation/);
      expect(readFileSync(manifestFile(), 'utf8')).toBe(manifest);
      expect(gcRoot()).toBe(storePath);
    } finally {
      for (const pid of builder()) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          process.kill(pid, 'SIGKILL');
        }
      }
      ws.write('flake.nix', flake(COPY));
      ws.commit('fixture: restored');
    }
  });
});
