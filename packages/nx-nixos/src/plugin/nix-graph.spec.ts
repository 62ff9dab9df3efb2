import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DependencyType, type CreateDependenciesContext } from '@nx/devkit';
import { buildImportGraph, diskView, importClosure } from '../nix/imports';
import { runWithinBudget } from '../testing/within-budget';
import { glob } from '../glob/glob';
import { nixDependencies } from './nix-dependencies';
import { NixImportIndex } from './nix-index';
import { profileNixInputs } from './nix-inputs';
import { nixModuleProjectName, nixModuleRoot } from './nix-modules';
import { resolveOptions } from './options';

const root = resolve(__dirname, '../../test/fixtures/nix-imports');
const projects: Record<string, string> = { web: 'profiles/web', shared: 'modules/shared', db: 'modules/services/db', modules: 'modules', fixture: '.' };

function context(): CreateDependenciesContext {
  const projectFileMap: Record<string, { file: string; hash: string }[]> = {};
  for (const name of Object.keys(projects)) projectFileMap[name] = [];
  for (const abs of diskView.listFiles(root)) {
    const file = abs.slice(root.length + 1);
    const owner = Object.entries(projects)
      .filter(([, r]) => r === '.' || file.startsWith(`${r}/`))
      .sort((a, b) => b[1].length - a[1].length)[0][0];
    projectFileMap[owner].push({ file, hash: 'x' });
  }
  return {
    workspaceRoot: root,
    projects: Object.fromEntries(Object.entries(projects).map(([name, r]) => [name, { root: r, name }])),
    fileMap: { projectFileMap, nonProjectFiles: [] },
    filesToProcess: { projectFileMap, nonProjectFiles: [] },
    externalNodes: {},
    nxJsonConfiguration: {},
  };
}

describe('nix graph wiring', () => {
  let data: string;
  beforeEach(() => {
    data = mkdtempSync(join(tmpdir(), 'nix-graph-'));
    process.env.NX_WORKSPACE_DATA_DIRECTORY = data;
  });
  afterEach(() => {
    delete process.env.NX_WORKSPACE_DATA_DIRECTORY;
    rmSync(data, { recursive: true, force: true });
  });

  it('names module projects from their path and matches the module globs', () => {
    const options = resolveOptions({});
    expect(nixModuleProjectName('infra/nixos/modules/services/gitlab', options)).toBe('nix-modules-services-gitlab');
    expect(nixModuleProjectName('infra/other', options)).toBe('nix-infra-other');
    expect(nixModuleRoot('infra/nixos/lib/services.nix', options)).toBe('infra/nixos/lib');
    expect(nixModuleRoot('profiles/demo/profile.nix', options)).toBeUndefined();
    expect(glob('infra/**/{a,b}.nix').test('infra/x/y/b.nix')).toBe(true);
    expect(glob('infra/*.nix').test('infra/x/y.nix')).toBe(false);
  });

  it('adds static edges with the importing Nix file as sourceFile, none into the root project', () => {
    const edges = nixDependencies(resolveOptions({}), context());
    expect(edges.map((e) => `${e.source} -> ${e.target} (${'sourceFile' in e ? e.sourceFile : ''})`).sort()).toEqual([
      'web -> db (profiles/web/profile.nix)',
      'web -> modules (profiles/web/profile.nix)',
      'web -> shared (profiles/web/profile.nix)',
    ]);
    expect(edges.every((e) => e.type === DependencyType.static)).toBe(true);
  });

  it('adds no edge into a feature module (featureModules): profiles reach those through the features they turn on', () => {
    const edges = nixDependencies(resolveOptions({ featureModules: 'modules/services/{feature}' }), context());
    expect(edges.map((e) => `${e.source} -> ${e.target}`).sort()).toEqual(['web -> modules', 'web -> shared']);
  });

  it('caches token lists by content hash and reuses them', () => {
    const options = resolveOptions({});
    const cold = new NixImportIndex(root, options);
    const first = cold.load('profiles/web/profile.nix');
    cold.save();
    const file = join(data, 'nx-nixos-nix-imports-nodes.json');
    expect(existsSync(file)).toBe(true);
    const cached = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(cached)).toHaveLength(1);
    expect(new NixImportIndex(root, options).load('profiles/web/profile.nix')).toEqual(first);
    const otherOptions = new NixImportIndex(root, resolveOptions({ nixModulesBase: 'x' }));
    otherOptions.load('profiles/web/profile.nix');
    otherOptions.save();
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).not.toEqual(Object.keys(cached));
  });

  it('gives a profile its closure as inputs, whole folders as globs', () => {
    const inputs = profileNixInputs(new NixImportIndex(root, resolveOptions({})), 'profiles/web', resolveOptions({}));
    expect(inputs).toEqual(
      expect.arrayContaining([
        '{workspaceRoot}/modules/dynamic/**/*',
        '{workspaceRoot}/data/static/**/*',
        '{workspaceRoot}/modules/shared/users.nix',
        '{workspaceRoot}/data/banner.txt',
      ]),
    );
    expect(inputs).not.toContain('{workspaceRoot}/nasty.nix');
    expect(inputs).not.toContain('{workspaceRoot}/modules/dynamic/one.nix');
  });
});

describe('NixImportIndex reuse of cached edges', () => {
  let ws: string;
  const options = resolveOptions({});
  const HOUR = 3_600_000;
  const entries = () => Object.values<{ stat: string | null }>(JSON.parse(readFileSync(join(ws, '.nx/workspace-data/nx-nixos-nix-imports-nodes.json'), 'utf8')));
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(ws, file)), { recursive: true });
    writeFileSync(join(ws, file), text);
  };
  const load = (file: string, now?: number) => {
    const index = new NixImportIndex(ws, options, { now });
    const edges = index.load(file);
    index.save();
    return edges;
  };

  beforeEach(() => {
    ws = mkdtempSync(join(tmpdir(), 'nix-graph-reuse-'));
    process.env.NX_WORKSPACE_DATA_DIRECTORY = join(ws, '.nx/workspace-data');
  });
  afterEach(() => {
    delete process.env.NX_WORKSPACE_DATA_DIRECTORY;
    rmSync(ws, { recursive: true, force: true });
  });

  it('trusts a file stat only when the file had not changed for a while before the computation', () => {
    write('a.nix', '{ imports = [ ./b.nix ]; }\n');
    load('a.nix');
    expect(entries()[0].stat).toBeNull(); // just written: its stat could hide an edit within the same tick
    load('a.nix', Date.now() + HOUR);
    expect(entries()[0].stat).toMatch(/^\d+:[\d.]+:[\d.]+:\d+$/);
  });

  it('sees an edit that keeps size and mtime, from the ctime', () => {
    write('a.nix', '{ imports = [ ./b.nix ]; }\n');
    const later = Date.now() + HOUR;
    expect(load('a.nix', later)?.files).toEqual(['b.nix']);
    const { mtime } = statSync(join(ws, 'a.nix'));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // past the file system's clock tick
    write('a.nix', '{ imports = [ ./c.nix ]; }\n');
    utimesSync(join(ws, 'a.nix'), mtime, mtime);
    expect(load('a.nix', later + 1)?.files).toEqual(['c.nix']);
  });

  it('resolves an unchanged file again when a path it names became a folder', () => {
    write('a.nix', '{ imports = [ ./foo ]; }\n');
    const later = Date.now() + HOUR;
    expect(load('a.nix', later)).toEqual({ files: ['foo'], folders: [] });
    write('foo/default.nix', '{ }\n');
    expect(load('a.nix', later)).toEqual({ files: ['foo/default.nix'], folders: [] });
  });

  it('computes the same closures as importClosure', () => {
    const index = new NixImportIndex(root, options);
    const graph = buildImportGraph(root, diskView.listFiles(root).map((abs) => abs.slice(root.length + 1)).filter((f) => f.endsWith('.nix')));
    for (const entry of graph.keys()) {
      const expected = importClosure(root, [entry], (f) => graph.get(f));
      const actual = index.closure([entry]);
      expect({ entry, files: [...actual.files].sort(), folders: [...actual.folders].sort() }).toEqual({ entry, files: expected.files, folders: expected.folders });
    }
  });

  it('reads no Nix file that is a FIFO, a device or a symlink out of the workspace, and still answers', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'nix-graph-outside-'));
    try {
      // Were it read, this file's literal would resolve next to the link and add an edge to secret.nix.
      writeFileSync(join(outside, 'evil.nix'), '{ imports = [ ./secret.nix ]; }\n');
      write('infra/secret.nix', '{ }\n');
      write('infra/a.nix', '{ imports = [ ./evil.nix ./fifo.nix ./zero.nix ./dangling.nix ]; }\n');
      symlinkSync(join(outside, 'evil.nix'), join(ws, 'infra/evil.nix'));
      execFileSync('mkfifo', [join(ws, 'infra/fifo.nix')]);
      symlinkSync('/dev/zero', join(ws, 'infra/zero.nix'));
      symlinkSync(join(outside, 'missing.nix'), join(ws, 'infra/dangling.nix'));
      // In a worker stopped at a budget: before, reading the FIFO blocked for ever.
      const result = await runWithinBudget(require.resolve('../nix/imports/fuzz-sources'), 'graphClosure', { root: ws, entries: ['infra/a.nix'] }, 20_000);
      expect(result.error).toBeUndefined();
      expect((result.value as string[]).sort()).toEqual(['infra/a.nix', 'infra/dangling.nix', 'infra/evil.nix', 'infra/fifo.nix', 'infra/zero.nix']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  }, 40_000);

  it('lists no folder that a symlink leads to outside the workspace', () => {
    const outside = mkdtempSync(join(tmpdir(), 'nix-graph-outside-'));
    try {
      writeFileSync(join(outside, 'default.nix'), '{ }\n');
      writeFileSync(join(outside, 'LEAKED-NAME.nix'), '{ }\n');
      write('infra/a.nix', '{ imports = [ ./linked ]; all = ./linked + "/${"x"}"; }\n');
      symlinkSync(outside, join(ws, 'infra/linked'));
      const index = new NixImportIndex(ws, options);
      expect(index.load('infra/a.nix')).toEqual({ files: ['infra/linked'], folders: ['infra'] });
      expect(index.closure(['infra/a.nix']).files.join(' ')).not.toContain('LEAKED-NAME');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('names a module folder "..dots" inside the base as such, not as outside it', () => {
    expect(nixModuleProjectName('infra/nixos/..dots', options)).toBe('nix-..dots');
  });
});

