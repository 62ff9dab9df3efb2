import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const CACHE_HIT = /existing outputs match the cache|local cache/;

const QCOW2 = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(1016)]);
const ENC = 'ENC[AES256_GCM,data:dSuZI5SG4JynRAlikvcoRsZBKfYHFV5DkhUuU6bRy1k=,iv:zyLKUK+4pUAXLlXrXleHVOLqIOJwWNpLZ9/JlEFogeg=,tag:H6zx9Ys/npxEuX6F584G2Q==,type:str]';
const SOPS = `n8n:
    db-password: ${ENC}
    encryption-key: plaintext-key-value
sops:
    mac: ${ENC}
    unencrypted_suffix: _unencrypted
    version: 3.9.4
`;

describeIfTools(['git'])('hygiene through real nx in a temporary workspace', () => {
  let ws: TestWorkspace;

  beforeAll(() => {
    ws = createTestWorkspace({
      busybox: false,
      pluginOptions: { hygiene: { legacyFolders: ['legacy/archive'], allowlist: 'hygiene-allowlist.json' } },
      files: {
        'flake.nix': hermeticFlake({}),
        'profiles/development/profile.json': profileJson(fixtureProfile('development')),
        'profiles/development/profile.nix': '{ ... }: {\n  imports = [ ../../infra/nixos/configs/base.nix ];\n  users.users.root.hashedPasswordFile = "/run/secrets/root";\n}\n',
        'infra/nixos/configs/base.nix': '{ ... }: {\n  users.users.root.initialPassword = "changeme";\n}\n',
        // Read by no profile: repo:hygiene reports it, development:hygiene does not.
        'infra/nixos/configs/unused.nix': '{ ... }: {\n  services.grafana.settings.security.admin_password = "Zk8-rT2q-Lw9x";\n}\n',
        'hygiene-allowlist.json': '[]\n',
        '.gitattributes': '*.bin filter=lfs diff=lfs merge=lfs -text\n',
        'assets/firmware.bin': Buffer.alloc(2048, 9),
        'backups/snapshot-2024.tar': QCOW2,
        '.sops.yaml': 'creation_rules:\n  - path_regex: (^|/)config/secrets\\.yaml$\n    age: age1x\n',
        'config/secrets.yaml': SOPS,
        'artifacts/README.md': '# Artifacts\n',
      },
    });
  });
  afterAll(() => ws?.cleanup());

  it('infers repo:hygiene (not cached) and <profile>:hygiene (cached, scope profile)', () => {
    const repo = JSON.parse(ws.nx(['show', 'project', 'repo', '--json']).stdout).targets.hygiene;
    expect(repo).toMatchObject({ executor: '@rave/nx-nixos:hygiene', cache: false, options: { scope: 'repo', legacyFolders: ['legacy/archive'] } });
    const profile = JSON.parse(ws.nx(['show', 'project', 'development', '--json']).stdout).targets.hygiene;
    expect(profile).toMatchObject({ executor: '@rave/nx-nixos:hygiene', cache: true, options: { scope: 'profile' } });
    // Its scope is the profile's static Nix closure; its inputs cover that scope, what decides the rules,
    // and Git's index entries (a `git add` changes the hash).
    expect(profile.options.profilePaths).toEqual(expect.arrayContaining(['flake.nix', 'infra/nixos/configs/base.nix']));
    expect(profile.options.profilePaths).not.toContain('infra/nixos/configs/unused.nix');
    expect(profile.inputs).toEqual(
      expect.arrayContaining(['{projectRoot}/**/*', '{workspaceRoot}/infra/nixos/configs/base.nix', '{workspaceRoot}/.gitattributes', '{workspaceRoot}/**/.gitattributes', '{workspaceRoot}/hygiene-allowlist.json']),
    );
    expect(profile.inputs).toContainEqual({ runtime: expect.stringMatching(/^git ls-files --stage -- ':\(glob\)profiles\/development\/\*\*' /) });
  });

  it('nx run repo:hygiene finds the disguised qcow2, the LFS mismatch, the Nix password and the SOPS plaintext', () => {
    const run = ws.nx(['run', 'repo:hygiene']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('backups/snapshot-2024.tar');
    expect(run.output).toContain('A qcow2 disk image is committed.  [image/committed]');
    expect(run.output).toMatch(/assets\/firmware\.bin\n\s+-\s+error\s+\.gitattributes sends this file to Git LFS, but 0\.0 MiB of raw content is committed/);
    expect(run.output).toMatch(/infra\/nixos\/configs\/base\.nix\n\s+2:38\s+error\s+initialPassword is set to a plaintext string \("\*{8}"\)/);
    expect(run.output).toMatch(/config\/secrets\.yaml\n\s+3:21\s+error\s+n8n\.encryption-key is in plaintext/);
    expect(run.output).toContain('infra/nixos/configs/unused.nix');
    expect(run.output).toContain('5 finding(s): 5 error(s), 0 warning(s), 0 note(s).');
    expect(run.output).not.toMatch(/changeme|plaintext-key-value|Zk8-rT2q-Lw9x/);
  });

  it('sees an untracked image at once (no cache), and writes SARIF through target options', () => {
    ws.write('disk.qcow2', QCOW2);
    const run = ws.nx(['run', 'repo:hygiene', '--format=sarif', '--output=artifacts/hygiene.sarif']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('6 finding(s): 5 error(s), 1 warning(s), 0 note(s). sarif report written to artifacts/hygiene.sarif.');
    const sarif = JSON.parse(readFileSync(join(ws.root, 'artifacts/hygiene.sarif'), 'utf8'));
    expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId).sort()).toEqual(
      ['image/committed', 'image/untracked', 'lfs/not-pointer', 'secret/nix-plaintext', 'secret/nix-plaintext', 'secret/sops-plaintext'].sort(),
    );
  });

  it('16: an --output that is a folder fails the target with a sentence, not EISDIR', () => {
    const run = ws.nx(['run', 'repo:hygiene', '--output=artifacts']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('hygiene: output artifacts: is a folder; give a file path, e.g. artifacts/hygiene.txt.');
    expect(run.output).not.toContain('EISDIR');
  });

  it('<profile>:hygiene checks the profile and the Nix files it reads, and is cached until one changes', () => {
    const first = ws.nx(['run', 'development:hygiene']);
    expect(first.code).not.toBe(0);
    expect(first.output).toContain('infra/nixos/configs/base.nix');
    expect(first.output).not.toContain('infra/nixos/configs/unused.nix');
    expect(first.output).not.toContain('backups/snapshot-2024.tar');
    expect(first.output).not.toContain('n8n.encryption-key');
    expect(first.output).not.toContain('disk.qcow2');

    ws.write('infra/nixos/configs/base.nix', '{ config, ... }: {\n  users.users.root.hashedPasswordFile = config.sops.secrets.root.path;\n}\n');
    ws.commit('no password in Nix');
    const clean = ws.nx(['run', 'development:hygiene']);
    expect(clean.code).toBe(0);
    expect(clean.output).toContain('No findings.');
    const cached = ws.nx(['run', 'development:hygiene']);
    expect(cached.code).toBe(0);
    expect(cached.output).toMatch(CACHE_HIT);
  });

  it('<profile>:hygiene: caching never hides an image once it is committed, nor a change of .gitattributes or the allowlist', () => {
    // Untracked, the scope does not check it (repo:hygiene does)...
    ws.write('profiles/development/seed.data', QCOW2);
    const untracked = ws.nx(['run', 'development:hygiene']);
    expect([untracked.code, untracked.output]).toEqual([0, expect.stringContaining('No findings.')]);
    // ...committed, the same bytes give another hash: not a cache hit, an error.
    ws.commit('a disguised image');
    const committed = ws.nx(['run', 'development:hygiene']);
    expect(committed.code).not.toBe(0);
    expect(committed.output).not.toMatch(CACHE_HIT);
    expect(committed.output).toContain('A qcow2 disk image is committed.  [image/committed]');

    ws.write('hygiene-allowlist.json', JSON.stringify([{ rule: 'image/committed', path: 'profiles/development/seed.data', hash: '*', reason: 'test seed' }]));
    const allowed = ws.nx(['run', 'development:hygiene']);
    expect(allowed.code).toBe(0);
    expect(allowed.output).not.toMatch(CACHE_HIT);
    expect(allowed.output).toContain('1 finding(s) accepted by hygiene-allowlist.json.');

    ws.write('.gitattributes', '*.bin filter=lfs diff=lfs merge=lfs -text\n*.data filter=lfs diff=lfs merge=lfs -text\n');
    const lfs = ws.nx(['run', 'development:hygiene']);
    expect(lfs.output).not.toMatch(CACHE_HIT);
    expect(lfs.code).not.toBe(0);
    expect(lfs.output).toContain('[lfs/not-pointer]');
  });
});
