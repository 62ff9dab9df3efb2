import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, profileJson, type TestWorkspace } from '../src/testing/workspace';

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
    expect(nxJson.plugins).toEqual([{ plugin: '@rave/nx-nixos', options: {} }]);
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
