import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, profileJson, type TestWorkspace } from '../src/testing/workspace';
import { moduleFlakeFiles } from '../../../tools/fixtures/module-flake';

jest.setTimeout(300_000);

// Like RAVE's flake: one package per profiles/*/profile.json, so a new profile needs no flake edit.
const profileDrivenFlake = `{
  outputs = { self }:
    let
      system = "x86_64-linux";
      names = builtins.attrNames (builtins.readDir ./profiles);
      meta = name: builtins.fromJSON (builtins.readFile (./profiles + "/\${name}/profile.json"));
      image = p: derivation {
        inherit system;
        name = p.name;
        builder = "\${./bin}/busybox";
        args = [ "sh" "-c" "$builder mkdir $out; echo '\${p.description}' > $out/nixos.qcow2" ];
      };
    in {
      packages.\${system} = builtins.listToAttrs (map (n: let p = meta n; in { name = p.flake.attribute; value = image p; }) names);
    };
}
`;

describeIfTools(['nix', 'git'])('generators with real nx', () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createTestWorkspace({
      files: {
        'flake.nix': profileDrivenFlake,
        'profiles/development/profile.json': profileJson(fixtureProfile('development', { description: `dev ${Date.now()}` })),
        'profiles/development/profile.nix': '{ ... }: { }\n',
      },
    });
    ws.write('nx.json', JSON.stringify({ plugins: [] }));
    ws.commit('no plugin yet');
  });
  afterAll(() => ws?.cleanup());

  it('init registers the plugin once and ignores artifacts/', () => {
    expect(ws.nx(['g', '@rave/nx-nixos:init']).code).toBe(0);
    expect(ws.nx(['g', '@rave/nx-nixos:init']).code).toBe(0);
    const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
    expect(nxJson.plugins).toEqual([{ plugin: '@rave/nx-nixos', options: expect.objectContaining({ buildImageTargetName: 'build-image', vmTestTargetName: 'vm-test', doctorTargetName: 'doctor' }) }]);
    expect(readFileSync(join(ws.root, '.gitignore'), 'utf8')).toContain('/artifacts/*\n!/artifacts/README.md\n');
    ws.commit('init');
    expect(JSON.parse(ws.nx(['show', 'projects', '--json']).stdout)).toContain('development');
  });

  it('profile --from scaffolds a project that the graph and the flake pick up with no other edit', () => {
    const generated = ws.nx(['g', '@rave/nx-nixos:profile', 'staging', '--from', 'development', '--description', 'Staging VM']);
    expect(generated.code).toBe(0);
    expect(generated.output).toContain('git add profiles/staging');
    ws.commit('staging');
    expect(JSON.parse(ws.nx(['show', 'projects', '--json']).stdout).sort()).toEqual(['development', 'repo', 'staging']);
    const build = ws.nx(['run', 'staging:build-image']);
    expect(build.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(ws.root, 'artifacts/images/staging/manifest.json'), 'utf8'));
    expect(readFileSync(join(manifest.storePath, 'nixos.qcow2'), 'utf8')).toBe('Staging VM\n');
  });

  it('refuses an invalid name with the reason and creates nothing', () => {
    const run = ws.nx(['g', '@rave/nx-nixos:profile', 'Bad_Name']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('Invalid profile name "Bad_Name"');
    expect(ws.run('git', ['status', '--porcelain']).stdout).toBe('');
  });
});

describeIfTools(['nix', 'git'])('a profile generated without --from builds, with real nx and nix', () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createTestWorkspace({ files: moduleFlakeFiles({ development: { gitlab: true, mattermost: false } }) });
  });
  afterAll(() => ws?.cleanup());

  const imageText = (profile: string) => {
    const manifest = JSON.parse(readFileSync(join(ws.root, `artifacts/images/${profile}/manifest.json`), 'utf8'));
    return readFileSync(join(manifest.storePath, 'nixos.qcow2'), 'utf8');
  };

  it('imports the shared base, so the image module builds it, and maps every feature', () => {
    expect(ws.nx(['run', 'development:build-image']).code).toBe(0);
    expect(imageText('development')).toBe('development: gitlab ssh\n');

    const generated = ws.nx(['g', '@rave/nx-nixos:profile', 'staging']);
    expect(generated.code).toBe(0);
    ws.commit('staging');
    const build = ws.nx(['run', 'staging:build-image']);
    expect(build.code).toBe(0);
    expect(imageText('staging')).toBe('staging: ssh\n');

    // The generated profile.nix switches services on from its own profile.json, as the others do.
    const file = join(ws.root, 'profiles/staging/profile.json');
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    expect(profile.features).toEqual({ gitlab: false, mattermost: false });
    writeFileSync(file, JSON.stringify({ ...profile, features: { gitlab: false, mattermost: true } }, null, 2) + '\n');
    ws.commit('staging with mattermost');
    expect(ws.nx(['run', 'staging:build-image']).code).toBe(0);
    expect(imageText('staging')).toBe('staging: mattermost ssh\n');
  });
});

describeIfTools(['git'])('generators write and read only inside the workspace, with real nx', () => {
  let ws: TestWorkspace;
  let outside: string;
  const status = () => ws.run('git', ['status', '--porcelain']).stdout;

  beforeAll(() => {
    ws = createTestWorkspace({
      busybox: false,
      files: {
        'flake.nix': '{ outputs = _: { }; }\n',
        'profiles/development/profile.json': profileJson(fixtureProfile('development')),
        'profiles/development/profile.nix': '{ ... }: { }\n',
        'infra/nixos/lib/default.nix': '{ }\n',
      },
    });
    // A sibling of the workspace, where an escaping generator would write or read.
    outside = mkdtempSync(join(dirname(ws.root), 'nx-nixos-outside-'));
    mkdirSync(join(outside, 'outside-prof'));
    writeFileSync(join(outside, 'outside-prof/profile.json'), profileJson(fixtureProfile('outside-prof')));
    writeFileSync(join(outside, 'outside-prof/secret.env'), 'TOKEN=do-not-copy\n');
  });
  afterAll(() => {
    ws?.cleanup();
    if (outside) rmSync(outside, { recursive: true, force: true });
  });

  it('refuses a profilesDir that leads out of the workspace, and writes nothing anywhere', () => {
    const escape = join(dirname(ws.root), 'gen-escape');
    ws.write('nx.json', JSON.stringify({ plugins: [{ plugin: '@rave/nx-nixos', options: { profilesDir: '../gen-escape' } }] }));
    ws.commit('escaping profilesDir');
    const run = ws.nx(['g', '@rave/nx-nixos:profile', 'x']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('nx.json: option "profilesDir" of plugin @rave/nx-nixos is invalid: "../gen-escape" leads outside the workspace.');
    expect(existsSync(escape)).toBe(false);
    ws.write('nx.json', JSON.stringify({ plugins: [{ plugin: '@rave/nx-nixos', options: {} }] }));
    ws.commit('profilesDir back');
  });

  it('refuses --from a path: it copies nothing from outside', () => {
    // From profiles/, ../../ is the folder that holds the workspace and the outside profile.
    const run = ws.nx(['g', '@rave/nx-nixos:profile', 'copied', '--from', `../../${basename(outside)}/outside-prof`]);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('not a profile name. Name a profile of profiles/, e.g. --from development.');
    expect(status()).toBe('');
  });

  it('refuses --from a profile with a file that links out of the workspace', () => {
    symlinkSync(join(outside, 'outside-prof/secret.env'), join(ws.root, 'profiles/development/secret.env'));
    ws.commit('link');
    try {
      const run = ws.nx(['g', '@rave/nx-nixos:profile', 'copied', '--from', 'development']);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('--from "development": profiles/development/secret.env is a symlink that leads outside the workspace; nothing was written.');
      expect(run.output).not.toContain('do-not-copy');
      expect(existsSync(join(ws.root, 'profiles/copied'))).toBe(false);
    } finally {
      rmSync(join(ws.root, 'profiles/development/secret.env'));
      ws.commit('link gone');
    }
  });

  it('refuses to write through a profiles folder that is a link out of the workspace', () => {
    const real = join(ws.root, 'profiles');
    const moved = join(outside, 'profiles');
    ws.run('mv', [real, moved]);
    symlinkSync(moved, real);
    try {
      const run = ws.nx(['g', '@rave/nx-nixos:profile', 'linked']);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('The new profile profiles/linked: profiles leads outside the workspace (a symlink); nothing was written.');
      expect(existsSync(join(moved, 'linked'))).toBe(false);
    } finally {
      rmSync(real);
      ws.run('mv', [moved, real]);
    }
  });

  it('refuses a profile named like an existing project, so that no nx command breaks', () => {
    const run = ws.nx(['g', '@rave/nx-nixos:profile', 'nix-lib']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('Invalid profile name "nix-lib": it is already the name of the nix-lib project (the Nix module project of infra/nixos/lib)');
    expect(status()).toBe('');
    expect(ws.nx(['show', 'projects']).code).toBe(0);
  });
});
