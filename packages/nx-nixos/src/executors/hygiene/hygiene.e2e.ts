import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

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
      pluginOptions: { hygiene: { legacyFolders: ['legacy/archive'] } },
      files: {
        'flake.nix': hermeticFlake({}),
        'profiles/development/profile.json': profileJson(fixtureProfile('development')),
        'profiles/development/profile.nix': '{ ... }: { users.users.root.hashedPasswordFile = "/run/secrets/root"; }\n',
        'infra/nixos/configs/base.nix': '{ ... }: {\n  users.users.root.initialPassword = "changeme";\n}\n',
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
  });

  it('nx run repo:hygiene finds the disguised qcow2, the LFS mismatch, the Nix password and the SOPS plaintext', () => {
    const run = ws.nx(['run', 'repo:hygiene']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('backups/snapshot-2024.tar');
    expect(run.output).toContain('A qcow2 disk image is committed.  [image/committed]');
    expect(run.output).toMatch(/assets\/firmware\.bin\n\s+-\s+error\s+\.gitattributes sends this file to Git LFS, but 0\.0 MiB of raw content is committed/);
    expect(run.output).toMatch(/infra\/nixos\/configs\/base\.nix\n\s+2:38\s+error\s+initialPassword is set to a plaintext string \("\*{8}"\)/);
    expect(run.output).toMatch(/config\/secrets\.yaml\n\s+3:21\s+error\s+n8n\.encryption-key is in plaintext/);
    expect(run.output).toContain('4 finding(s): 4 error(s), 0 warning(s), 0 note(s).');
    expect(run.output).not.toMatch(/changeme|plaintext-key-value/);
  });

  it('sees an untracked image at once (no cache), and writes SARIF through target options', () => {
    ws.write('disk.qcow2', QCOW2);
    const run = ws.nx(['run', 'repo:hygiene', '--format=sarif', '--output=artifacts/hygiene.sarif']);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('5 finding(s): 4 error(s), 1 warning(s), 0 note(s). sarif report written to artifacts/hygiene.sarif.');
    const sarif = JSON.parse(readFileSync(join(ws.root, 'artifacts/hygiene.sarif'), 'utf8'));
    expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId).sort()).toEqual(
      ['image/committed', 'image/untracked', 'lfs/not-pointer', 'secret/nix-plaintext', 'secret/sops-plaintext'].sort(),
    );
  });

  it('<profile>:hygiene checks the profile and the Nix files it reads, and is cached until one changes', () => {
    const first = ws.nx(['run', 'development:hygiene']);
    expect(first.code).not.toBe(0);
    expect(first.output).toContain('infra/nixos/configs/base.nix');
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
    expect(cached.output).toMatch(/existing outputs match the cache|local cache/);
  });
});
