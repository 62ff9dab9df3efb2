import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CreateNodesContextV2 } from '@nx/devkit';
import { fixtureProfile, profileJson } from '../testing/workspace';
import { createNodesForFiles } from './create-nodes';

describe('createNodes', () => {
  let root: string;
  let context: CreateNodesContextV2;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nx-nixos-nodes-'));
    context = { workspaceRoot: root, nxJsonConfiguration: {} };
    process.env.NX_WORKSPACE_DATA_DIRECTORY = join(root, '.nx/workspace-data');
    write('flake.nix', '{ outputs = _: {}; }');
    write('profiles/dev/profile.json', profileJson(fixtureProfile('dev', { tests: ['smoke'] })));
    write('profiles/prod/profile.json', profileJson(fixtureProfile('prod')));
    write('examples/profiles/x/profile.json', profileJson(fixtureProfile('x')));
    write('docs/README.md', '# Docs');
  });
  afterEach(() => {
    delete process.env.NX_WORKSPACE_DATA_DIRECTORY;
    rmSync(root, { recursive: true, force: true });
  });

  const files = ['flake.nix', 'profiles/dev/profile.json', 'profiles/prod/profile.json', 'examples/profiles/x/profile.json', 'docs/README.md', 'packages/x/README.md'];

  it('infers a project per profile, the repo project and the docs project; ignores other matches', async () => {
    const results = await createNodesForFiles(files, {}, context);
    const projects = Object.fromEntries(results.flatMap(([, r]) => Object.entries(r.projects ?? {})));
    expect(Object.keys(projects).sort()).toEqual(['.', 'docs', 'profiles/dev', 'profiles/prod']);
    expect(projects['profiles/dev'].name).toBe('dev');
    expect(Object.keys(projects['profiles/dev'].targets ?? {})).toEqual(expect.arrayContaining(['build-image', 'vm-test']));
    expect(projects['.'].name).toBe('repo');
    expect(Object.keys(projects['.'].targets ?? {})).toContain('doctor');
  });

  it('says on every target whether it is continuous, so Nx never reads executor schemas to find out', async () => {
    const results = await createNodesForFiles(files, {}, context);
    const targets = results.flatMap(([, r]) => Object.values(r.projects ?? {})).flatMap((p) => Object.entries(p.targets ?? {}));
    expect(targets.length).toBeGreaterThan(8);
    for (const [name, target] of targets) expect([name, typeof target.continuous]).toEqual([name, 'boolean']);
    expect(targets.filter(([, t]) => t.continuous).map(([name]) => name)).toEqual(['launch', 'launch']);
  });

  it('renames targets and projects through plugin options', async () => {
    const results = await createNodesForFiles(files, { buildImageTargetName: 'image', vmTestTargetName: 'test', repoProjectName: 'workspace', profilesDir: 'examples/profiles' }, context);
    const projects = Object.fromEntries(results.flatMap(([, r]) => Object.entries(r.projects ?? {})));
    expect(Object.keys(projects).sort()).toEqual(['.', 'docs', 'examples/profiles/x']);
    const targets = projects['examples/profiles/x'].targets ?? {};
    expect(targets.image.executor).toBe('@rave/nx-nixos:build-image');
    expect(targets.test.dependsOn).toEqual(['image']);
    expect(projects['.'].name).toBe('workspace');
  });

  it('rejects unknown options with the list of known ones', async () => {
    await expect(createNodesForFiles(files, { profileDir: 'x' } as never, context)).rejects.toThrow(/unknown option "profileDir".*Known options: profilesDir/);
  });

  it('fails on a bad profile with file, JSON path and reason, and still returns the good ones', async () => {
    write('profiles/prod/profile.json', JSON.stringify({ ...fixtureProfile('prod'), image: { kind: 'floppy' } }));
    const error = await createNodesForFiles(files, {}, context).catch((e) => e);
    expect(error.name).toBe('AggregateCreateNodesError');
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0][0]).toBe('profiles/prod/profile.json');
    expect(error.errors[0][1].message).toMatch(/Invalid profile profiles\/prod\/profile.json:\n {2}- \$\.image\.kind: /);
    expect(error.partialResults.map(([file]: [string]) => file)).toContain('profiles/dev/profile.json');
  });

  it('caches parsed profiles by content hash under the workspace data directory', async () => {
    await createNodesForFiles(files, {}, context);
    const cacheFile = join(root, '.nx/workspace-data/nx-nixos-profiles.json');
    const first = JSON.parse(readFileSync(cacheFile, 'utf8'));
    expect(Object.keys(first)).toHaveLength(2);

    write('profiles/dev/profile.json', profileJson(fixtureProfile('dev', { description: 'changed' })));
    const results = await createNodesForFiles(files, {}, context);
    const dev = results.find(([file]) => file === 'profiles/dev/profile.json')![1].projects!['profiles/dev'];
    expect(dev.metadata?.description).toBe('changed');
    const second = JSON.parse(readFileSync(cacheFile, 'utf8'));
    expect(Object.keys(second)).toHaveLength(2);
    expect(Object.keys(second)).not.toEqual(Object.keys(first));
  });

  it('never serves a cached project for other options', async () => {
    await createNodesForFiles(files, {}, context);
    const results = await createNodesForFiles(files, { buildImageTargetName: 'image' }, context);
    const dev = results.find(([file]) => file === 'profiles/dev/profile.json')![1].projects!['profiles/dev'];
    expect(Object.keys(dev.targets ?? {})).toContain('image');
  });

  it('reports a profile named like another project at its profile.json, with the fix, instead of breaking the graph', async () => {
    write('profiles/nix-lib/profile.json', profileJson(fixtureProfile('nix-lib')));
    write('infra/nixos/lib/default.nix', '{ }\n');
    const error = await createNodesForFiles([...files, 'infra/nixos/lib/default.nix', 'profiles/nix-lib/profile.json'], {}, context).catch((e) => e);
    expect(error.name).toBe('AggregateCreateNodesError');
    expect(error.errors.map(([file]: [string]) => file)).toEqual(['profiles/nix-lib/profile.json']);
    expect(error.errors[0][1].message).toMatch(
      /^Invalid profile profiles\/nix-lib\/profile\.json:\n {2}- \$\.name: "nix-lib" is also the name of the Nix module project of infra\/nixos\/lib, and Nx project names must be unique\. Rename the profile/,
    );
    const names = error.partialResults.flatMap(([, r]: [string, { projects: Record<string, { name?: string }> }]) => Object.values(r.projects ?? {}).map((p) => p.name));
    expect(names.filter((n: string) => n === 'nix-lib')).toHaveLength(1);
    expect(names).toEqual(expect.arrayContaining(['dev', 'prod', 'repo', 'docs']));
  });

  it('reports module folders that would get the same project name', async () => {
    write('infra/nixos/a-b/default.nix', '{ }\n');
    write('infra/nixos/a/b/default.nix', '{ }\n');
    const error = await createNodesForFiles(['infra/nixos/a-b/default.nix', 'infra/nixos/a/b/default.nix'], {}, context).catch((e) => e);
    expect(error.errors[0][0]).toBe('infra/nixos/a/b/default.nix');
    expect(error.errors[0][1].message).toContain('the Nix module folder infra/nixos/a/b would be project "nix-a-b", but that is the name of the Nix module project of infra/nixos/a-b');
  });

  it.each([
    [{ profilesDir: 42 }, /nx\.json: option "profilesDir" of plugin @rave\/nx-nixos is invalid: expected a folder, got the number 42/],
    [{ nixInputs: 'config/**' }, /option "nixInputs" .* Write it as \["config\/\*\*"\]/],
  ])('fails on a bad option %j with its message, instead of dropping every profile or crashing', async (options, message) => {
    await expect(createNodesForFiles(files, options as never, context)).rejects.toThrow(message);
  });
});

