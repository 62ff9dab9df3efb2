import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CreateNodesContextV2, CreateNodesResultV2 } from '@nx/devkit';
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
    expect(targets.filter(([, t]) => t.continuous).map(([name]) => name)).toEqual(['launch', 'launch-vm', 'launch', 'launch-vm']);
  });

  it('renames targets and projects through plugin options', async () => {
    const results = await createNodesForFiles(files, { buildImageTargetName: 'image', vmTestTargetName: 'test', repoProjectName: 'workspace', profilesDir: 'examples/profiles' }, context);
    const projects = Object.fromEntries(results.flatMap(([, r]) => Object.entries(r.projects ?? {})));
    expect(Object.keys(projects).sort()).toEqual(['.', 'docs', 'examples/profiles/x']);
    const targets = projects['examples/profiles/x'].targets ?? {};
    expect(targets.image.executor).toBe('@rave/nx-nixos:build-image');
    expect(targets.test.dependsOn).toBeUndefined();
    expect(projects['.'].name).toBe('workspace');
  });

  it('names the documentation project through docsProjectName, or infers none with false', async () => {
    const named = await createNodesForFiles(files, { docsProjectName: 'manual' }, context);
    const docs = Object.fromEntries(named.flatMap(([, r]) => Object.entries(r.projects ?? {})))['docs'];
    expect(docs.name).toBe('manual');
    const none = await createNodesForFiles(files, { docsProjectName: false }, context);
    expect(none.flatMap(([, r]) => Object.keys(r.projects ?? {})).sort()).toEqual(['.', 'profiles/dev', 'profiles/prod']);
  });

  it('writes outputs under outputDir, and makes it hygiene\'s artifacts folder', async () => {
    const results = await createNodesForFiles(files, { outputDir: 'out' }, context);
    const projects = Object.fromEntries(results.flatMap(([, r]) => Object.entries(r.projects ?? {})));
    const targets = projects['profiles/dev'].targets ?? {};
    expect(targets['build-image'].outputs).toEqual(['{workspaceRoot}/out/images/dev/manifest.json']);
    expect(targets['vm-test'].outputs).toEqual(['{workspaceRoot}/out/tests/dev']);
    expect(targets.hygiene.options.artifactsDir).toBe('out');
    expect(projects['.'].targets?.hygiene.options.artifactsDir).toBe('out');
  });

  it('lets vm-test depend on the image only with vmTestDependsOnImage', async () => {
    const project = async (options: object) => {
      const results = await createNodesForFiles(files, options, context);
      return results.find(([file]) => file === 'profiles/dev/profile.json')![1].projects!['profiles/dev'].targets!;
    };
    const plain = await project({});
    expect(plain['vm-test'].dependsOn).toBeUndefined();
    expect(plain['vm-test'].options).toEqual({ flakeRef: '.' });
    const withImage = await project({ vmTestDependsOnImage: true, buildImageTargetName: 'image' });
    expect(withImage['vm-test'].dependsOn).toEqual(['image']);
    expect(withImage['vm-test'].options).toEqual({ flakeRef: '.', withImage: true });
  });

  describe('Nix module projects', () => {
    const moduleFiles = [
      'profiles/dev/profile.nix',
      'infra/nixos/configs/base.nix',
      'infra/nixos/configs/test.nix',
      'infra/nixos/modules/services/web/default.nix',
      'infra/nixos/modules/services/web/test.nix',
      'infra/nixos/modules/services/db/default.nix',
      'infra/nixos/tests/module-node.nix',
      'infra/nixos/lib/checks.nix',
    ];
    beforeEach(() => {
      write('flake.nix', '{ outputs = _: { checks = import ./infra/nixos/lib/checks.nix; }; }');
      write('infra/nixos/lib/checks.nix', '{ }\n');
      write('infra/nixos/configs/base.nix', '{ imports = [ ../modules/services/web ../modules/services/db ]; }\n');
      write('infra/nixos/configs/test.nix', 'import ./base.nix\n');
      write('infra/nixos/modules/services/web/default.nix', '{ }\n');
      write('infra/nixos/modules/services/web/test.nix', '{ imports = [ ../../../tests/module-node.nix ]; }\n');
      write('infra/nixos/modules/services/db/default.nix', '{ }\n');
      write('infra/nixos/tests/module-node.nix', '{ imports = [ ../configs/base.nix ]; }\n');
      write('profiles/dev/profile.json', profileJson(fixtureProfile('dev', { features: { web: true, db: false } })));
      write('profiles/dev/profile.nix', '{ imports = [ ../../infra/nixos/configs/base.nix ]; }\n');
    });
    const infer = async (options: object = {}) => {
      const results = await createNodesForFiles([...files, ...moduleFiles], options, context);
      return Object.fromEntries(results.flatMap(([, r]) => Object.values(r.projects ?? {})).map((p) => [p.name!, p]));
    };

    it('gives a module folder with a test.nix a vm-test of checks module-<folder>, whose inputs are what the test reads', async () => {
      const projects = await infer();
      const web = projects['nix-modules-services-web'];
      expect(web.tags).toEqual(['type:nix-module']);
      const test = web.targets!['vm-test'];
      expect(test.executor).toBe('@rave/nx-nixos:vm-test');
      expect(test.options).toEqual({ flakeRef: '.', checks: ['module-web'] });
      expect(test.dependsOn).toBeUndefined();
      expect(test.cache).toBe(true);
      expect(test.outputs).toEqual(['{workspaceRoot}/artifacts/tests/nix-modules-services-web']);
      expect(test.inputs).toEqual(
        expect.arrayContaining([
          '{projectRoot}/**/*',
          '{workspaceRoot}/flake.nix',
          '{workspaceRoot}/flake.lock',
          '{workspaceRoot}/infra/nixos/tests/module-node.nix',
          '{workspaceRoot}/infra/nixos/configs/base.nix',
          '{workspaceRoot}/infra/nixos/modules/services/db/default.nix',
          '{workspaceRoot}/infra/nixos/lib/checks.nix',
        ]),
      );
      expect(projects['nix-configs'].targets!['vm-test'].options).toEqual({ flakeRef: '.', checks: ['module-configs'] });
      // No test.nix, no target.
      expect(projects['nix-modules-services-db'].targets).toBeUndefined();
      expect(projects['nix-tests'].targets).toBeUndefined();
    });

    it('makes a profile depend on the modules of the features it turns on (featureModules)', async () => {
      expect((await infer()).dev.implicitDependencies).toBeUndefined();
      const projects = await infer({ featureModules: 'infra/nixos/modules/services/{feature}' });
      expect(projects.dev.implicitDependencies).toEqual(['nix-modules-services-web']);
    });

    it('leaves the modules of features that are off out of the inputs, so that Nx does not mark the target for their edits', async () => {
      const projects = await infer({ featureModules: 'infra/nixos/modules/services/{feature}' });
      const inputsOf = (project: string, target: string) => projects[project].targets![target].inputs!.filter((i): i is string => typeof i === 'string');
      for (const target of ['build-image', 'vm-test', 'hygiene']) {
        const inputs = inputsOf('dev', target).join(' ');
        expect(inputs).toContain('infra/nixos/modules/services/web/default.nix');
        expect(inputs).not.toContain('services/db');
      }
      expect(inputsOf('nix-modules-services-web', 'vm-test').join(' ')).not.toContain('services/db');
      expect(inputsOf('nix-configs', 'vm-test').join(' ')).not.toMatch(/services\/(web|db)/);
      // Without the option, base.nix brings in every module it imports.
      expect(inputsOf('nix-modules-services-web', 'vm-test').join(' ')).toContain('web/test.nix');
      expect((await infer()).dev.targets!['build-image'].inputs).toContain('{workspaceRoot}/infra/nixos/modules/services/db/default.nix');
    });

    it('reports a feature that is on but has no module folder at the profile field, with the fix', async () => {
      write('profiles/dev/profile.json', profileJson(fixtureProfile('dev', { features: { web: true, cache: true } })));
      const error = await infer({ featureModules: 'infra/nixos/modules/services/{feature}' }).catch((e) => e);
      expect(error.errors.map(([file]: [string]) => file)).toEqual(['profiles/dev/profile.json']);
      expect(error.errors[0][1].message).toContain(
        '$.features.cache: the feature is on, and the plugin option "featureModules" puts its module in infra/nixos/modules/services/cache, where there is no Nix module project',
      );
    });
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

  it('never gives two module folders one project name: each folder is a project of its own name, or an error names it and the folder that has the name', async () => {
    let seed = 15;
    const random = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    // Words joined by "/" or "-": the same words make one name whatever joins them.
    const randomWords = () => Array.from({ length: 2 + random(3) }, () => ['a', 'b', ''][random(3)]);
    const folderPath = (words: string[]) => {
      const path = words.reduce((joined, word) => joined + ['/', '-'][random(2)] + word);
      return path.split('/').includes('') ? words.join('-') : path;
    };
    let clashes = 0;
    for (let round = 0; round < 50; round++) {
      const folders = new Set<string>();
      const words = randomWords();
      for (let i = 0; i < 6; i++) folders.add(`${random(4) ? 'infra/nixos' : 'infra'}/${folderPath(random(3) ? words : randomWords())}`);
      const moduleFiles = [...folders].map((f) => `${f}/default.nix`);
      for (const file of moduleFiles) write(file, '{ }\n');
      const outcome = await createNodesForFiles(moduleFiles, {}, context).then(
        (results) => ({ results, errors: [] as [string, Error][] }),
        (e: { partialResults: CreateNodesResultV2; errors: [string, Error][] }) => ({ results: e.partialResults, errors: e.errors }),
      );
      const owners = new Map<string, string>();
      for (const [, result] of outcome.results) {
        for (const [projectRoot, project] of Object.entries(result.projects ?? {})) {
          expect([project.name, owners.get(project.name!)]).toEqual([project.name, undefined]);
          owners.set(project.name!, projectRoot);
        }
      }
      for (const folder of folders) {
        if ([...owners.values()].includes(folder)) continue;
        const message = outcome.errors.find(([file]) => file === `${folder}/default.nix`)?.[1].message ?? `no error for ${folder}`;
        const [, name, other] = /would be project "([^"]+)", but that is the name of the Nix module project of (\S+),/.exec(message) ?? [message];
        expect(message).toContain(`the Nix module folder ${folder} would be project`);
        expect(owners.get(name)).toBe(other);
        clashes++;
      }
    }
    expect(clashes).toBeGreaterThan(20);
  });

  it.each([
    [{ profilesDir: 42 }, /nx\.json: option "profilesDir" of plugin @rave\/nx-nixos is invalid: expected a folder, got the number 42/],
    [{ nixInputs: 'config/**' }, /option "nixInputs" .* Write it as \["config\/\*\*"\]/],
    [{ vmTestDependsOnImage: 'yes' }, /option "vmTestDependsOnImage" .* expected true or false, got "yes"/],
    [{ featureModules: 'modules/services' }, /option "featureModules" .* must hold "\{feature\}" once, as a whole folder name/],
    [{ featureModules: 'modules/x-{feature}' }, /option "featureModules" .* must hold "\{feature\}" once/],
    [{ featureModules: '../{feature}' }, /option "featureModules" .* leads outside the workspace/],
  ])('fails on a bad option %j with its message, instead of dropping every profile or crashing', async (options, message) => {
    await expect(createNodesForFiles(files, options as never, context)).rejects.toThrow(message);
  });
});

