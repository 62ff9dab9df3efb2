import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { BUSYBOX, hermeticFlake, REPO_ROOT, testEnv, type RunResult } from '../src/testing/workspace';

jest.setTimeout(900_000);

const PLUGIN = join(REPO_ROOT, 'packages/nx-nixos');
/**
 * The packed package is at most this share of what the same package folder packs to without a `files` list
 * (sources, tests, fixtures and the development build of dist/), packed in the same test.
 */
const MAX_PACKED_SHARE = 0.25;

interface PackedFile {
  path: string;
  size: number;
}

const lockedVersion = (name: string): string =>
  (JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }).packages[`node_modules/${name}`].version;

/**
 * What a user of another workspace does: `npm pack` the plugin, install the tarball into a fresh Nx workspace
 * (nx and @nx/devkit at this repository's versions, its own node_modules, no TypeScript toolchain), set it up
 * with the init generator in a layout that is not the default one, and use it.
 */
describeIfTools(['npm', 'git', 'nix', 'nix-store'])('the packed plugin in a fresh workspace with its own layout', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nx-nixos-package-'));
  const root = join(tmp, 'workspace');
  let tarball: string;
  let packed: { size: number; entryCount: number; files: PackedFile[] };
  /** What the package folder packs to when it ships everything in it, as it did before the `files` list. */
  let unlisted: { size: number };

  const run = (program: string, args: string[], options: { cwd?: string; timeoutMs?: number } = {}): RunResult => {
    const r = spawnSync(program, args, { cwd: options.cwd ?? root, env: testEnv(), encoding: 'utf8', timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
  };
  const ok = (result: RunResult): RunResult => {
    if (result.code !== 0) throw new Error(`exit ${result.code}:\n${result.output}`);
    return result;
  };
  const nx = (...args: string[]) => run(join(root, 'node_modules/.bin/nx'), args);
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const commit = (message: string) => {
    ok(run('git', ['add', '-A']));
    ok(run('git', ['commit', '-qm', message]));
  };

  /**
   * A copy of the repository's parts that packing reads (the package, the build script, the base tsconfig), so
   * that the packed build does not replace dist/ under other tests that load the plugin meanwhile.
   */
  const packageCopy = () => {
    const copy = join(tmp, 'repo');
    const pkg = join(copy, 'packages/nx-nixos');
    cpSync(PLUGIN, pkg, { recursive: true, filter: (src) => !/^(node_modules|dist)(\/|$)/.test(relative(PLUGIN, src)) });
    cpSync(join(REPO_ROOT, 'tools/build-plugin.js'), join(copy, 'tools/build-plugin.js'));
    cpSync(join(REPO_ROOT, 'tsconfig.base.json'), join(copy, 'tsconfig.base.json'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'));
    if (existsSync(join(PLUGIN, 'node_modules'))) symlinkSync(join(PLUGIN, 'node_modules'), join(pkg, 'node_modules'));
    return pkg;
  };

  beforeAll(() => {
    // npm pack runs the package's prepack script: the build for the tarball.
    const pack = ok(run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: packageCopy() }));
    [packed] = JSON.parse(pack.stdout) as [typeof packed & { filename: string }];
    tarball = join(tmp, (packed as unknown as { filename: string }).filename);
    const everything = join(tmp, 'unlisted');
    cpSync(PLUGIN, everything, { recursive: true, filter: (src) => !/^(node_modules|dist)(\/|$)/.test(relative(PLUGIN, src)) && !src.endsWith('.tgz') });
    const manifest = JSON.parse(readFileSync(join(everything, 'package.json'), 'utf8')) as Record<string, unknown>;
    delete manifest.files;
    delete manifest.scripts;
    writeFileSync(join(everything, 'package.json'), JSON.stringify(manifest, null, 2));
    ok(run(process.execPath, [join(REPO_ROOT, 'tools/build-plugin.js'), everything], { cwd: REPO_ROOT }));
    [unlisted] = JSON.parse(ok(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: everything })).stdout) as [typeof unlisted];

    mkdirSync(root);
    write(
      'package.json',
      JSON.stringify({ name: 'elsewhere', version: '0.0.0', private: true, devDependencies: { nx: lockedVersion('nx'), '@nx/devkit': lockedVersion('@nx/devkit') } }, null, 2),
    );
    write('.gitignore', 'node_modules\n.nx/\n');
    // The workspace's own documentation project, named "docs": the plugin's must not collide with it.
    write('docs/project.json', JSON.stringify({ name: 'docs', targets: { lint: { command: 'echo own docs' } } }, null, 2));
    write('docs/README.md', '# Our docs\n');
    write('handbook/README.md', '# Handbook\n\n- [Build an image](how-to/build.md)\n');
    write('handbook/how-to/build.md', '# Build an image\n\n```sh\nnpx nx run web:image\n```\n');
    write('nix/modules/base.nix', '{ ... }: { }\n');
    write(
      'flake.nix',
      hermeticFlake({ packages: { web: `true ${process.pid}-${Date.now()}; $bb mkdir $out; echo "building web"; echo disk > $out/nixos.qcow2` } }),
    );
    mkdirSync(join(root, 'bin'));
    copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
    ok(run('git', ['init', '-q', '-b', 'main']));
    // From the npm cache this repository's install filled; the registry only for what is missing.
    ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball]));
    commit('workspace');
  });
  afterAll(() => {
    if (!process.env.NX_NIXOS_KEEP_TEST_WORKSPACE) rmSync(tmp, { recursive: true, force: true });
  });

  it('packs compiled JavaScript, declarations and schemas only, in a quarter of what the package folder holds', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths.filter((p) => /(^|\/)(src|test|e2e|fixtures|testing)\/|\.(spec|e2e)\.|\.map$/.test(p))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['README.md', 'migrations.json', 'dist/index.js', 'dist/index.d.ts', 'dist/executors/build-image/schema.json', 'dist/generators/init/schema.json', 'schemas/profile.schema.json']));
    const manifest = JSON.parse(readFileSync(join(root, 'node_modules/@rave/nx-nixos/package.json'), 'utf8'));
    for (const collection of ['executors.json', 'generators.json']) {
      const entries = Object.values(JSON.parse(readFileSync(join(PLUGIN, collection), 'utf8')) as Record<string, Record<string, Record<string, string>>>)[0];
      for (const entry of Object.values(entries)) for (const file of [entry.implementation ?? entry.factory, entry.schema]) expect(paths).toContain(file.replace(/^\.\//, ''));
    }
    expect(manifest.types).toBe('./dist/index.d.ts');
    expect(packed.size).toBeLessThanOrEqual(MAX_PACKED_SHARE * unlisted.size);
  });

  it('installs without a TypeScript toolchain', () => {
    expect(existsSync(join(root, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(root, 'node_modules/@swc-node/register'))).toBe(false);
    expect(existsSync(join(root, 'node_modules/@rave/nx-nixos/src'))).toBe(false);
    const help = ok(run(join(root, 'node_modules/.bin/nx-nixos'), ['--help']));
    expect(help.stdout).toContain('hygiene');
    expect(help.stdout).not.toMatch(/^\s+reference\b/m);
  });

  it('init creates nx.json with the options given, every target name written out, and is idempotent', () => {
    expect(existsSync(join(root, 'nx.json'))).toBe(false);
    const args = [
      'g',
      '@rave/nx-nixos:init',
      '--profilesDir=systems',
      '--docsDir=handbook',
      '--docsProjectName=manual',
      '--nixModuleGlobs=nix/**/*.nix',
      '--outputDir=out',
      '--repoProjectName=infra',
      '--buildImageTargetName=image',
      '--launchTargetName=boot',
      '--statusTargetName=vms',
      '--hygieneTargetName=scan',
      '--doctorTargetName=check-host',
      '--docsCheckTargetName=check-docs',
    ];
    const init = ok(nx(...args));
    expect(init.output).toContain('npx nx run infra:check-host');
    expect(init.output).toContain('under systems/');
    expect(init.output).not.toMatch(/build-image|repo:doctor|profiles\//);
    const nxJson = readFileSync(join(root, 'nx.json'), 'utf8');
    expect(JSON.parse(nxJson).plugins).toEqual([
      {
        plugin: '@rave/nx-nixos',
        options: expect.objectContaining({ profilesDir: 'systems', docsDir: 'handbook', docsProjectName: 'manual', nixModuleGlobs: ['nix/**/*.nix'], outputDir: 'out', repoProjectName: 'infra', buildImageTargetName: 'image', vmTestTargetName: 'vm-test', hygieneTargetName: 'scan' }),
      },
    ]);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toContain('/out/*\n!/out/README.md\n');
    const again = ok(nx(...args));
    expect(again.output).toContain('already registered');
    expect(readFileSync(join(root, 'nx.json'), 'utf8')).toBe(nxJson);
    commit('init');
  });

  it('generates a profile in the configured folder and names the configured build target', () => {
    const profile = ok(nx('g', '@rave/nx-nixos:profile', 'web'));
    expect(profile.output).toContain('Added systems/web.');
    expect(profile.output).toContain('npx nx run web:image');
    expect(profile.output).not.toContain('build-image');
    const text = JSON.parse(readFileSync(join(root, 'systems/web/profile.json'), 'utf8'));
    expect(existsSync(join(root, 'systems/web', text.$schema))).toBe(true);
    commit('profile');
    const projects = ok(nx('show', 'projects', '--json'));
    const names = JSON.parse(projects.stdout) as string[];
    expect(names).toEqual(expect.arrayContaining(['docs', 'infra', 'manual', 'web']));
    expect(names).not.toContain('repo');
  });

  it('builds the image into the output folder, then hits the cache', () => {
    const first = ok(nx('run', 'web:image'));
    expect(first.output).toContain('manifest: out/images/web/manifest.json');
    expect(JSON.parse(readFileSync(join(root, 'out/images/web/manifest.json'), 'utf8'))).toMatchObject({ profile: 'web' });
    const second = ok(nx('run', 'web:image'));
    expect(second.output).toMatch(/local cache|existing outputs match the cache/);
  });

  it('names the configured targets and folders in the hints of other targets', () => {
    const status = ok(nx('run', 'web:vms'));
    expect(status.output).toContain('web: no instances. Start one: npx nx run web:boot');
    // Exits non-zero where KVM or QEMU is missing; the disk check names the output folder either way.
    const doctor = nx('run', 'infra:check-host');
    expect(doctor.output).toMatch(/free under out\//);
  });

  it('runs hygiene and the docs check under their configured names', () => {
    const scan = ok(nx('run', 'infra:scan'));
    expect(scan.output).toContain('No findings');
    // A stray image outside the output folder: the finding names the configured folder.
    write('web.qcow2', 'not really an image');
    const stray = nx('run', 'infra:scan', '--format=json');
    expect(stray.output).toContain('outside out/');
    rmSync(join(root, 'web.qcow2'));

    const docs = ok(nx('run', 'manual:check-docs'));
    expect(docs.output).toContain('No findings');
    write('handbook/how-to/build.md', '# Build an image\n\n```sh\nnpx nx run web:build-image\n```\n');
    commit('stale docs');
    const stale = nx('run', 'manual:check-docs');
    expect(stale.code).not.toBe(0);
    expect(stale.output).toContain('build-image');
    expect(ok(nx('run', 'docs:lint')).output).toContain('own docs');
  });
});
