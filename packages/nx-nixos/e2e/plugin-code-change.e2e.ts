import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, profileJson, REPO_ROOT, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(300_000);

const PLUGIN = join(REPO_ROOT, 'packages/nx-nixos');
const MODULE_INPUT = '{workspaceRoot}/infra/nixos/modules/web.nix';

/**
 * The inference caches are keyed by the plugin's code, not only its version: a workspace that uses a
 * private copy of the plugin sees a change to that copy's resolver at once, from its TypeScript sources
 * and from a rebuilt dist/.
 */
describeIfTools(['git'])('inference caches follow the plugin code', () => {
  let ws: TestWorkspace;
  let pkgRoot: string;
  let pkg: string;

  /** Resolution that drops every path literal of profile.nix files: an observable change of the plugin. */
  const graphTs = () => join(pkg, 'src/nix/imports/graph.ts');
  let originalGraphTs: string;
  const breakResolver = () => {
    const edited = originalGraphTs.replace(/(export function resolveLiterals\([^)]*\)[^{]*\{)/, "$1\n  if (file.endsWith('profile.nix')) literals = [];");
    expect(edited).not.toBe(originalGraphTs);
    writeFileSync(graphTs(), edited);
  };
  const restoreResolver = () => writeFileSync(graphTs(), originalGraphTs);
  const buildDist = () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'tools/build-plugin.js'), pkg], { encoding: 'utf8', cwd: REPO_ROOT });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  };
  const buildInputs = (): string[] => {
    const r = ws.nx(['show', 'project', 'development', '--json']);
    expect(r.output).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout).targets['build-image'].inputs.filter((i: unknown) => typeof i === 'string');
  };

  beforeAll(() => {
    // A private copy of the plugin package: its sources, entry points and manifests, no dist/ yet.
    pkgRoot = mkdtempSync(join(tmpdir(), 'nx-nixos-pkg-'));
    pkg = join(pkgRoot, 'nx-nixos');
    mkdirSync(pkg);
    for (const entry of ['package.json', 'index.js', 'load.js', 'executors.json', 'generators.json', 'bin', 'schemas'])
      if (existsSync(join(PLUGIN, entry))) cpSync(join(PLUGIN, entry), join(pkg, entry), { recursive: true });
    cpSync(join(PLUGIN, 'src'), join(pkg, 'src'), { recursive: true, filter: (src) => !/\.(spec|e2e)\.ts$/.test(src) });
    symlinkSync(join(PLUGIN, 'node_modules'), join(pkg, 'node_modules'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkgRoot, 'node_modules'));
    originalGraphTs = readFileSync(graphTs(), 'utf8');

    ws = createTestWorkspace({
      busybox: false,
      files: {
        'flake.nix': '{ outputs = { self }: { }; }\n',
        'profiles/development/profile.json': profileJson(fixtureProfile('development')),
        'profiles/development/profile.nix': '{ ... }: { imports = [ ../../infra/nixos/modules/web.nix ]; }\n',
        'infra/nixos/modules/web.nix': '{ ... }: { }\n',
      },
    });
    // node_modules of the workspace: the repository's, except that @rave/nx-nixos is the private copy.
    const modules = join(ws.root, 'node_modules');
    rmSync(modules);
    mkdirSync(join(modules, '@rave'), { recursive: true });
    for (const entry of readdirSync(join(REPO_ROOT, 'node_modules')))
      if (entry !== '@rave') symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(modules, entry));
    symlinkSync(pkg, join(modules, '@rave', 'nx-nixos'));
  });
  afterAll(() => {
    ws?.cleanup();
    if (pkgRoot) rmSync(pkgRoot, { recursive: true, force: true });
  });

  it('drops cached edges when the TypeScript sources change', () => {
    expect(buildInputs()).toContain(MODULE_INPUT);
    expect(existsSync(join(ws.root, '.nx/workspace-data/nx-nixos-nix-imports-nodes.json'))).toBe(true);
    breakResolver();
    expect(buildInputs()).not.toContain(MODULE_INPUT);
    restoreResolver();
    expect(buildInputs()).toContain(MODULE_INPUT);
  });

  it('drops cached edges when dist/ is rebuilt from changed sources', () => {
    buildDist();
    expect(JSON.parse(readFileSync(join(pkg, 'dist/.sources.json'), 'utf8')).codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(buildInputs()).toContain(MODULE_INPUT);
    breakResolver();
    buildDist();
    expect(buildInputs()).not.toContain(MODULE_INPUT);
  });
});
