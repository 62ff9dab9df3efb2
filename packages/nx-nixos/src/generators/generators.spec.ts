import { addProjectConfiguration, readNxJson, updateNxJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parseProfile } from '../profile/load';
import { fixtureProfile, profileJson } from '../testing/workspace';
import initGenerator from './init/generator';
import profileGenerator from './profile/generator';

const DEFAULT_TARGET_NAMES = {
  buildImageTargetName: 'build-image',
  vmTestTargetName: 'vm-test',
  launchTargetName: 'launch',
  startTargetName: 'start',
  stopTargetName: 'stop',
  statusTargetName: 'status',
  hygieneTargetName: 'hygiene',
  doctorTargetName: 'doctor',
  docsCheckTargetName: 'docs-check',
};

describe('init generator', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    tree.write('.gitignore', 'node_modules');
  });

  it('registers the plugin, ignores artifacts/ except its README, and is idempotent', async () => {
    await initGenerator(tree, {});
    const once = { nx: tree.read('nx.json', 'utf-8'), ignore: tree.read('.gitignore', 'utf-8') };
    expect(readNxJson(tree)?.plugins).toEqual([{ plugin: '@rave/nx-nixos', options: DEFAULT_TARGET_NAMES }]);
    expect(once.ignore).toBe('node_modules\n\n# VM images, logs and test reports (written by @rave/nx-nixos)\n/artifacts/*\n!/artifacts/README.md\n');
    expect(tree.exists('artifacts/README.md')).toBe(true);

    await initGenerator(tree, {});
    expect(tree.read('nx.json', 'utf-8')).toBe(once.nx);
    expect(tree.read('.gitignore', 'utf-8')).toBe(once.ignore);
  });

  it('refuses a --profilesDir outside the workspace before writing anything', async () => {
    const before = tree.listChanges().map((c) => c.path);
    await expect(initGenerator(tree, { profilesDir: '../vms' })).rejects.toThrow(/^--profilesDir: "\.\.\/vms" leads outside the workspace\. Set it to/);
    expect(tree.listChanges().map((c) => c.path)).toEqual(before);
  });

  it('creates nx.json when it is missing and registers the options it is given, every target name written out', async () => {
    tree.delete('nx.json');
    await initGenerator(tree, { profilesDir: 'systems', docsDir: 'handbook', nixModuleGlobs: 'nix/**/*.nix, lib/*.nix', buildImageTargetName: 'image', outputDir: 'out', docsProject: false });
    expect(readNxJson(tree)?.plugins).toEqual([
      {
        plugin: '@rave/nx-nixos',
        options: { ...DEFAULT_TARGET_NAMES, buildImageTargetName: 'image', profilesDir: 'systems', docsDir: 'handbook', nixModuleGlobs: ['nix/**/*.nix', 'lib/*.nix'], outputDir: 'out', docsProjectName: false },
      },
    ]);
    expect(tree.read('.gitignore', 'utf-8')).toContain('/out/*\n!/out/README.md\n');
    expect(tree.exists('out/README.md')).toBe(true);
    const once = tree.read('nx.json', 'utf-8');
    await initGenerator(tree, { profilesDir: 'systems' });
    expect(tree.read('nx.json', 'utf-8')).toBe(once);
  });

  it('refuses a target name the graph would refuse, naming the option', async () => {
    await expect(initGenerator(tree, { buildImageTargetName: 'a:b' })).rejects.toThrow(/^--buildImageTargetName: "a:b" is empty or has a space/);
  });

  it('keeps an existing registration with its options', async () => {
    updateNxJson(tree, { plugins: [{ plugin: '@rave/nx-nixos', options: { profilesDir: 'vms' } }] });
    await initGenerator(tree, { profilesDir: 'other' });
    expect(readNxJson(tree)?.plugins).toEqual([{ plugin: '@rave/nx-nixos', options: { profilesDir: 'vms' } }]);
  });
});

describe('profile generator', () => {
  let tree: Tree;
  beforeEach(async () => {
    tree = createTreeWithEmptyWorkspace();
    await initGenerator(tree, {});
    tree.write('profiles/development/profile.json', profileJson(fixtureProfile('development', { features: { gitlab: true }, flake: { attribute: 'development', aliases: ['rave-qcow2-dev'] } })));
    tree.write('profiles/development/profile.nix', '{ ... }: { networking.hostName = "dev"; }\n');
  });

  it('scaffolds a valid profile.json and an empty profile module', async () => {
    await profileGenerator(tree, { name: 'staging' });
    const text = tree.read('profiles/staging/profile.json', 'utf-8')!;
    const profile = parseProfile(text, 'profiles/staging/profile.json');
    expect(profile).toMatchObject({ name: 'staging', flake: { attribute: 'staging', aliases: [] } });
    expect(JSON.parse(text).$schema).toBe('../../node_modules/@rave/nx-nixos/schemas/profile.schema.json');
    expect(tree.read('profiles/staging/profile.nix', 'utf-8')).toContain('No other profile.nix was found to learn the shared base');
  });

  it('writes a profile module that imports what every profile imports and maps every known feature', async () => {
    const module = (extra: string) => `{ ... }: {\n  imports = [ ../../infra/base.nix ${extra} ./local.nix ];\n  rave.profile = builtins.fromJSON (builtins.readFile ./profile.json);\n}\n`;
    tree.write('profiles/development/profile.nix', module('../../infra/dev-tools.nix'));
    tree.write('profiles/demo/profile.json', profileJson(fixtureProfile('demo', { features: { mattermost: true } })));
    tree.write('profiles/demo/profile.nix', module(''));
    await profileGenerator(tree, { name: 'staging' });
    const nix = tree.read('profiles/staging/profile.nix', 'utf-8')!;
    expect(nix).toContain('  imports = [\n    ../../infra/base.nix\n  ];\n');
    expect(nix).toContain('  rave.profile = meta;\n');
    expect(nix).toContain('    gitlab.enable = on "gitlab";\n    mattermost.enable = on "mattermost";\n');
    const profile = parseProfile(tree.read('profiles/staging/profile.json', 'utf-8')!, 'profiles/staging/profile.json');
    expect(profile.features).toEqual({ gitlab: false, mattermost: false });
    expect(profile.tests).toEqual([]);
  });

  it('lists the profile test profile-<name> when every profile lists its own, also for --from', async () => {
    tree.write('profiles/development/profile.json', profileJson(fixtureProfile('development', { tests: ['profile-development', 'module-gitlab'] })));
    await profileGenerator(tree, { name: 'staging' });
    await profileGenerator(tree, { name: 'dev-copy', from: 'development' });
    const tests = (name: string) => parseProfile(tree.read(`profiles/${name}/profile.json`, 'utf-8')!, `profiles/${name}/profile.json`).tests;
    expect(tests('staging')).toEqual(['profile-staging']);
    expect(tests('dev-copy')).toEqual(['profile-dev-copy', 'module-gitlab']);
  });

  it('copies another profile with --from, renaming it and dropping its aliases', async () => {
    await profileGenerator(tree, { name: 'dev-small', from: 'development', description: 'Smaller dev VM' });
    const profile = parseProfile(tree.read('profiles/dev-small/profile.json', 'utf-8')!, 'profiles/dev-small/profile.json');
    expect(profile).toMatchObject({ name: 'dev-small', description: 'Smaller dev VM', features: { gitlab: true }, flake: { attribute: 'dev-small', aliases: [] } });
    expect(tree.read('profiles/dev-small/profile.nix', 'utf-8')).toBe('{ ... }: { networking.hostName = "dev"; }\n');
  });

  it('points $schema at the workspace copy when the plugin lives in the workspace', async () => {
    tree.write('packages/nx-nixos/schemas/profile.schema.json', '{}');
    await profileGenerator(tree, { name: 'staging' });
    expect(JSON.parse(tree.read('profiles/staging/profile.json', 'utf-8')!).$schema).toBe('../../packages/nx-nixos/schemas/profile.schema.json');
  });

  it.each([
    ['Staging', /Invalid profile name "Staging": use lower-case letters/],
    ['dev_1', /Invalid profile name "dev_1"/],
    ['-x', /Invalid profile name "-x"/],
    ['repo', /it is already the name of the repo project/],
    ['docs', /it is already the name of the docs project/],
    ['nix-lib', /it is already the name of the nix-lib project \(the Nix module project of infra\/nixos\/lib\), and Nx project names must be unique/],
    ['web', /it is already the name of the web project \(the project in apps\/web\)/],
    ['development', /Profile "development" exists already \(profiles\/development\)/],
  ])('refuses the name %j with the reason', async (name, reason) => {
    tree.write('infra/nixos/lib/default.nix', '{ }\n');
    addProjectConfiguration(tree, 'web', { root: 'apps/web' });
    const before = tree.listChanges().map((c) => c.path);
    await expect(profileGenerator(tree, { name })).rejects.toThrow(reason);
    expect(tree.listChanges().map((c) => c.path)).toEqual(before);
  });

  it('refuses --from a profile that does not exist', async () => {
    await expect(profileGenerator(tree, { name: 'x', from: 'nope' })).rejects.toThrow('--from "nope": profiles/nope/profile.json does not exist.');
  });

  it.each(['../../outside-prof', '/etc', 'development/../..', 'Development'])('refuses --from %j: a profile name, never a path', async (from) => {
    const before = tree.listChanges().map((c) => c.path);
    await expect(profileGenerator(tree, { name: 'x', from })).rejects.toThrow(`--from "${from}": not a profile name. Name a profile of profiles/, e.g. --from development.`);
    expect(tree.listChanges().map((c) => c.path)).toEqual(before);
  });

  it.each(['../gen-escape', '/tmp/gen-escape', 42])('refuses to write anywhere when nx.json sets profilesDir to %j', async (profilesDir) => {
    updateNxJson(tree, { plugins: [{ plugin: '@rave/nx-nixos', options: { profilesDir } }] });
    const before = tree.listChanges().map((c) => c.path);
    await expect(profileGenerator(tree, { name: 'x' })).rejects.toThrow(/^nx\.json: option "profilesDir" of plugin @rave\/nx-nixos is invalid: /);
    expect(tree.listChanges().map((c) => c.path)).toEqual(before);
  });

  it('uses the profilesDir plugin option', async () => {
    updateNxJson(tree, { plugins: [{ plugin: '@rave/nx-nixos', options: { profilesDir: 'vms' } }] });
    await profileGenerator(tree, { name: 'edge' });
    expect(tree.exists('vms/edge/profile.json')).toBe(true);
  });
});
