import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CreateDependenciesContext } from '@nx/devkit';
import { diskView } from '../nix/imports';
import { globToRegExp, NixImportIndex, nixDependencies, nixModuleProjectName, nixModuleRoot, profileNixInputs } from './nix-graph';
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
  } as unknown as CreateDependenciesContext;
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
    expect(globToRegExp('infra/**/{a,b}.nix').test('infra/x/y/b.nix')).toBe(true);
    expect(globToRegExp('infra/*.nix').test('infra/x/y.nix')).toBe(false);
  });

  it('adds static edges with the importing Nix file as sourceFile, none into the root project', () => {
    const edges = nixDependencies(resolveOptions({}), context());
    expect(edges.map((e) => `${e.source} -> ${e.target} (${'sourceFile' in e ? e.sourceFile : ''})`).sort()).toEqual([
      'web -> db (profiles/web/profile.nix)',
      'web -> modules (profiles/web/profile.nix)',
      'web -> shared (profiles/web/profile.nix)',
    ]);
    expect(edges.every((e) => e.type === 'static')).toBe(true);
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
    const inputs = profileNixInputs(new NixImportIndex(root, resolveOptions({})), root, 'profiles/web', resolveOptions({}));
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
