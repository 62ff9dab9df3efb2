import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactFinding, imageFinding, imageKind, isLfsPointer, sizeFindings } from './files';
import { checkNixPlaintext, isSecretName } from './nix';
import { bytesPathspec, gitPath, parseGitPathLines, shellQuoteBytes, unquoteGitPath } from './paths';
import { redactSecrets } from './redact';
import { parseHygieneOptions } from './options';
import { HYGIENE_RULE_IDS } from './rules';
import { checkSopsFile, sopsRuleMatches } from './sops';
import { checkLegacyReferences } from './stale';
import { checkPrivateKeys, checkTokens } from './tokens';

const FIXTURES = join(__dirname, '../../../test/fixtures/hygiene');
const fixture = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');
const MiB = 1024 * 1024;

/** Every clear-text secret planted in the fixtures: none may appear in any finding. */
const PLANTED = ['changeme', 'grafana-admin-2024', 'Sup3rS3cret!', 'multi-line-secret-value', 'n8n-api-token-value', 'hunter2-plaintext', 'plaintext-admin', 'Xk9Rt2Lw7Qz'];
function expectNoSecretInClear(findings: object[]) {
  const text = JSON.stringify(findings);
  for (const secret of PLANTED) expect(text).not.toContain(secret);
}

describe('images', () => {
  const qcow2 = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(72)]);

  it('recognises qcow2 by its magic bytes whatever the name, and other formats by magic or extension', () => {
    expect(imageKind('docs/notes.txt', qcow2)).toBe('qcow2');
    expect(imageKind('a.bin', Buffer.from('KDMV\x01\0\0\0'))).toBe('vmdk');
    expect(imageKind('a.bin', Buffer.from('# Disk DescriptorFile\nversion=1'))).toBe('vmdk');
    const vdi = Buffer.alloc(80);
    vdi.writeUInt32LE(0xbeda107f, 0x40);
    expect(imageKind('disk', vdi)).toBe('vdi');
    expect(imageKind('disk', Buffer.from('vhdxfile'))).toBe('vhdx');
    expect(imageKind('cd', Buffer.alloc(80), Buffer.from('CD001'))).toBe('iso');
    expect(imageKind('images/disk.raw', Buffer.from('anything'))).toBe('raw');
    expect(imageKind('out/nixos.IMG', Buffer.from('anything'))).toBe('raw');
  });

  it('near misses: the magic not at offset 0, the format named in text, an extension-like folder', () => {
    expect(imageKind('notes-about-qcow2.md', Buffer.concat([Buffer.from(' '), qcow2]))).toBeUndefined();
    expect(imageKind('docs/qcow2.md', Buffer.from('QFI is the qcow2 magic'))).toBeUndefined();
    expect(imageKind('disk.qcow2/readme', Buffer.from('text'))).toBeUndefined();
  });

  it('committed = error, untracked = warning, each with the command that moves it; artifacts/ is the place', () => {
    expect(imageFinding('backup.tar', 'qcow2', true, 'artifacts')).toMatchObject({
      rule: 'image/committed',
      severity: 'error',
      fix: expect.stringContaining("git rm --cached -q -- backup.tar && mkdir -p artifacts/images && mv -- backup.tar artifacts/images/backup.tar"),
    });
    expect(imageFinding("my disk's.qcow2", 'qcow2', false, 'artifacts')).toMatchObject({
      rule: 'image/untracked',
      severity: 'warning',
      fix: `mkdir -p artifacts/images && mv -- 'my disk'\\''s.qcow2' 'artifacts/images/my disk'\\''s.qcow2'`,
    });
    expect(imageFinding('artifacts/images/dev/nixos.qcow2', 'qcow2', false, 'artifacts')).toBeUndefined();
  });

  it('artifacts/tracked: anything but the README under artifacts/', () => {
    expect(artifactFinding('artifacts/images/manifest.json', 'artifacts')).toMatchObject({ rule: 'artifacts/tracked', fix: 'git rm --cached -q -- artifacts/images/manifest.json' });
    expect(artifactFinding('artifacts/README.md', 'artifacts')).toBeUndefined();
    expect(artifactFinding('artifacts-old/x', 'artifacts')).toBeUndefined();
  });
});

describe('sizes and LFS', () => {
  const limits = { largeFileWarnMiB: 50, largeFileErrorMiB: 100, newFileBudgetMiB: 10 };

  it('warns above 50 MiB, fails above 100 MiB, and fails new files above the budget', () => {
    expect(sizeFindings('a.bin', 50 * MiB, false, limits)).toEqual([]);
    expect(sizeFindings('a.bin', 50 * MiB + 1, false, limits)).toMatchObject([{ rule: 'size/large', severity: 'warning' }]);
    expect(sizeFindings('a.bin', 100 * MiB + 1, false, limits)).toMatchObject([{ rule: 'size/large', severity: 'error' }]);
    expect(sizeFindings('a.bin', 10 * MiB + 1, true, limits)).toMatchObject([{ rule: 'size/large-new', severity: 'error' }]);
    expect(sizeFindings('a.bin', 10 * MiB + 1, false, limits)).toEqual([]);
    expect(sizeFindings('a.bin', 10 * MiB, true, limits)).toEqual([]);
    expect(sizeFindings('a.bin', 200 * MiB, true, limits)).toMatchObject([{ rule: 'size/large', severity: 'error', fix: expect.stringContaining('git lfs track a.bin') }]);
  });

  it('recognises LFS pointers and nothing else', () => {
    const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${'4d7a'.repeat(16)}\nsize 12345\n`;
    expect(isLfsPointer(pointer)).toBe(true);
    expect(isLfsPointer(Buffer.from(pointer))).toBe(true);
    expect(isLfsPointer(pointer.replace('sha256:', 'sha1:'))).toBe(false);
    expect(isLfsPointer(pointer.replace('size 12345\n', ''))).toBe(false);
    expect(isLfsPointer(`${pointer}${'x'.repeat(1024)}\n`)).toBe(false);
    expect(isLfsPointer('QFI\xfb raw bytes')).toBe(false);
  });
});

describe('secret/nix-plaintext', () => {
  it('finds string literals bound to password-ish names, masked', () => {
    const findings = checkNixPlaintext('hosts/a.nix', fixture('nix/plaintext.nix'));
    expect(findings.map((f) => [f.line, f.subject!.split(' = ')[0]])).toEqual([
      [3, 'users.users.root.initialPassword'],
      [6, 'hashedPassword'],
      [8, 'services.grafana.settings.security.admin_password'],
      [9, 'services.gitlab.initialRootPassword'],
      [10, 'networking.wireless.networks.home.psk'],
      [11, 'services.outline.oidcAuthentication.clientSecret'],
      [14, 'services.n8n.settings.apiToken'],
      [15, '"db-password"'],
    ]);
    expect(findings[0].subject).toBe('users.users.root.initialPassword = "********"');
    for (const f of findings) expect(f.subject).toMatch(/ = "[^"]{0,3}\*{4,}[^"]{0,3}"$/);
    expect(findings[0]).toMatchObject({ rule: 'secret/nix-plaintext', severity: 'error', column: 38, fix: expect.stringContaining('hashedPasswordFile = config.sops.secrets') });
    expectNoSecretInClear(findings);
  });

  it('leaves *File options, /run/secrets paths, interpolations, comments, locked and empty values alone', () => {
    expect(checkNixPlaintext('hosts/clean.nix', fixture('nix/clean.nix'))).toEqual([]);
  });

  it('reads Nix as Nix: comments after code, comment markers in strings, interpolations, defaults and wrappers', () => {
    const text = [
      '{ password ? "default-pw-12", ... }:',
      '{',
      '  a.password = "code-pw-12"; # b.password = "commented-pw-12";',
      '  c.description = "/* not a comment */"; d.secret = "after-marker-12";',
      '  e.token = "${pkgs.hello}/token";',
      "  f.token = ''",
      "    multi ${x} line",
      "  '';",
      '  g.password = lib.mkForce "forced-pw-12";',
      '  h.password = ("paren-pw-12");',
      '  i.passwordFile = "/etc/pw";',
      '  j = x: x == "password"; k.psk = "wifi-psk-12";',
      '  /* l.password = "block-commented-12";',
      '     */ m.apiKey = "after-block-12";',
      '}',
    ].join('\n');
    const findings = checkNixPlaintext('a.nix', text);
    expect(findings.map((f) => `${f.line}:${f.column} ${f.subject!.split(' = ')[0]}`)).toEqual([
      '1:14 password',
      '3:16 a.password',
      '4:53 d.secret',
      '9:28 g.password',
      '10:17 h.password',
      '12:35 k.psk',
      '14:20 m.apiKey',
    ]);
    expect(JSON.stringify(findings)).not.toMatch(/-12/);
  });

  it('reads strings and URIs as the Nix lexer does: comment markers in them are text, $${ is no antiquotation', () => {
    const text = [
      'a.url = "http://example.org/#top"; b.password = "after-hash-12";',
      "c.note = ''# no comment''; d.token = ''after-ind-hash-12'';",
      'e.glob = "src/*"; f.secret = "after-open-12"; g.glob = "*/";',
      'h.price = "$${"; i.password = "after-dollars-12";',
      'j.src = http://example.org/*; k.psk = "after-uri-12";',
    ].join('\n');
    const findings = checkNixPlaintext('a.nix', text);
    expect(findings.map((f) => `${f.line}:${f.column} ${f.subject!.split(' = ')[0]}`)).toEqual(['1:49 b.password', '2:38 d.token', '3:30 f.secret', '4:31 i.password', '5:39 k.psk']);
  });

  it('knows which names hold credentials', () => {
    for (const name of ['password', 'initialPassword', 'hashedPassword', 'dbPassword', 'db-password', 'admin_password', 'clientSecret', 'secret', 'accessToken', 'psk', 'apiKey', 'secret_key'])
      expect([name, isSecretName(name)]).toEqual([name, true]);
    for (const name of ['passwordFile', 'hashedPasswordFile', 'tokenFile', 'secretsDir', 'passwordLength', 'PasswordAuthentication', 'bypass', 'tokenizer', 'mypassword', 'secretName'])
      expect([name, isSecretName(name)]).toEqual([name, false]);
  });
});

describe('SOPS', () => {
  it('reports plaintext leaves with their key path and line, masked; honours unencrypted_suffix', () => {
    const findings = checkSopsFile('config/secrets.yaml', fixture('sops/plaintext.yaml'));
    expect(findings).toEqual([
      expect.objectContaining({ rule: 'secret/sops-plaintext', line: 3, column: 9, subject: 'gitlab.db: hu************xt', message: expect.stringContaining('gitlab.db is in plaintext') }),
    ]);
    expectNoSecretInClear(findings);
  });

  it('accepts a fully encrypted file, lists included', () => {
    expect(checkSopsFile('a.yaml', fixture('sops/encrypted.yaml'))).toEqual([]);
  });

  it('follows encrypted_regex: only matching keys must be encrypted', () => {
    expect(checkSopsFile('a.yaml', fixture('sops/encrypted-regex.yaml'))).toEqual([]);
  });

  it('reports a missing sops section and the plaintext values of a never-encrypted file', () => {
    const findings = checkSopsFile('secrets/grafana.yaml', fixture('sops/no-metadata.yaml'));
    expect(findings.map((f) => f.rule)).toEqual(['secret/sops-metadata', 'secret/sops-plaintext']);
    expectNoSecretInClear(findings);
  });

  it('matches files against .sops.yaml creation_rules and explains a bad regex', () => {
    const sopsYaml = 'creation_rules:\n  - path_regex: (^|/)config/secrets\\.yaml$\n  - path_regex: ^secrets/.*\\.ya?ml$\n    age: age1x\n';
    expect(sopsRuleMatches(sopsYaml, ['config/secrets.yaml', 'secrets/a.yml', 'docs/secrets.yaml.md', '.sops.yaml', 'secrets/b.json'])).toEqual(['config/secrets.yaml', 'secrets/a.yml']);
    expect(() => sopsRuleMatches('creation_rules:\n  - path_regex: "(["\n', ['a'])).toThrow(/\.sops\.yaml: creation_rules\[0\]\.path_regex: not a regular expression sops accepts \(RE2\): missing closing \]/);
  });
});

describe('secret/private-key', () => {
  it('finds key material after a private key header, in files and in Nix strings', () => {
    const findings = [...checkPrivateKeys('keys/id_ed25519', fixture('keys/id_ed25519')), ...checkPrivateKeys('keys/tls.nix', fixture('keys/tls.nix'))];
    expect(findings.map((f) => [f.file, f.line, f.message.split(' (')[0]])).toEqual([
      ['keys/id_ed25519', 1, 'A openssh private key is committed'],
      ['keys/tls.nix', 2, 'A rsa private key is committed'],
    ]);
    expect(JSON.stringify(findings)).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
  });

  it('ignores bare headers, elided bodies, public keys and age-encrypted files', () => {
    expect(checkPrivateKeys('docs/keys.md', fixture('keys/docs.md'))).toEqual([]);
  });
});

describe('secret/token', () => {
  it('finds well-known token formats, masked', () => {
    const findings = checkTokens('.env', fixture('tokens/leaked.env'));
    expect(findings.map((f) => f.message.split(' in plaintext')[0]).sort()).toEqual(
      ['AWS access key id', 'AWS secret access key', 'GitHub token', 'GitLab token', 'Slack token', 'npm token', 'Google API key', 'Stripe secret key', 'age secret key', 'password in a URL'].sort(),
    );
    expect(findings.find((f) => f.message.startsWith('password in a URL'))).toMatchObject({ line: 10, column: 32 });
    expectNoSecretInClear(findings);
    expect(JSON.stringify(findings)).not.toMatch(/R7kLq2ZtW9vXm4/);
  });

  it('ignores documented examples, placeholders, short strings and look-alike words', () => {
    expect(checkTokens('docs/tokens.md', fixture('tokens/near-miss.md'))).toEqual([]);
  });
});

describe('stale/legacy-reference', () => {
  it('finds paths into a legacy folder, and only paths', () => {
    const findings = checkLegacyReferences('docs/scripts.md', fixture('stale/README.md'), ['legacy/archive']);
    expect(findings.map((f) => [f.line, f.message])).toEqual([
      [3, 'Refers to the legacy folder legacy/archive/ ("legacy/archive").'],
      [3, 'Refers to the legacy folder legacy/archive/ ("./legacy/archive").'],
      [4, 'Refers to the legacy folder legacy/archive/ ("../legacy/archive").'],
    ]);
  });

  it('does not report files inside the legacy folder or Git/Nx config that names it', () => {
    expect(checkLegacyReferences('legacy/archive/notes.md', 'see legacy/archive/x', ['legacy/archive'])).toEqual([]);
    expect(checkLegacyReferences('.gitignore', 'legacy/archive/*.qcow2', ['legacy/archive'])).toEqual([]);
    expect(checkLegacyReferences('a.md', 'see legacy/archive/x', [])).toEqual([]);
  });
});

describe('options', () => {
  it('applies defaults and names the option and the reason when one is wrong', () => {
    expect(parseHygieneOptions({})).toMatchObject({ scope: 'repo', format: 'text', failLevel: 'error', largeFileWarnMiB: 50, largeFileErrorMiB: 100, newFileBudgetMiB: 10, artifactsDir: 'artifacts' });
    expect(() => parseHygieneOptions({ format: 'xml' })).toThrow('hygiene options: "format": Invalid option: expected one of "text"|"json"|"sarif"|"github".');
    expect(() => parseHygieneOptions({ largeFileWarnMiB: 200 })).toThrow('"largeFileWarnMiB": must not be above largeFileErrorMiB');
    expect(() => parseHygieneOptions({ rules: { 'secret/tokens': 'off' } })).toThrow(`"rules": unknown rule(s) "secret/tokens"; known rules: ${HYGIENE_RULE_IDS.join(', ')}`);
    expect(() => parseHygieneOptions({ rules: { 'secret/token': 'loud' } })).toThrow('"rules.secret/token": expected "error", "warning", "note" or "off"');
    expect(() => parseHygieneOptions({ artifactsDir: '../x' })).toThrow('"artifactsDir": must be a path relative to the workspace root');
    expect(() => parseHygieneOptions({ sopsfiles: [] })).toThrow('unknown option(s) "sopsfiles"');
  });
});

describe('masking what findings quote', () => {
  const token = 'gh' + 'p_KwVJ7faC9qEwjky40UVsWmflzdE1F8ResqED';

  it('masks token formats, credential assignments and long random runs; leaves words, paths and masked text alone', () => {
    const line = `see legacy/archive/x token ${token}, DB_PASSWORD=Hunter2-Plain, key ${'q7VtR2xLm9Pz' + 'W4kJ8sNc3YbH6dFa1GeU5oQi'} https://u:${'Pa55w0rd-x'}@db.invalid/`;
    const masked = redactSecrets(line);
    for (const secret of [token, 'Hunter2-Plain', 'q7VtR2xLm9PzW4kJ8sNc3YbH6dFa1GeU5oQi', 'Pa55w0rd-x']) expect(masked).not.toContain(secret);
    expect(masked).toMatch(/^see legacy\/archive\/x token ghp\*+\w{3}, DB_PASSWORD=Hu\*+in/);
    expect(redactSecrets(masked)).toBe(masked);
    for (const plain of ['Run legacy/archive/build.sh first.', 'users.users.root.initialPassword = "********"', 'n8n.db-password: hu************xt', 'commit 4d7a4d7a4d7a4d7a4d7a4d7a4d7a4d7a is plain hex? no: masked'])
      expect([plain, redactSecrets(plain) === plain]).toEqual([plain, !plain.startsWith('commit')]);
  });
});

describe('file names as Git stores them', () => {
  it("decodes Git's quoted names to bytes and prints odd bytes escaped", () => {
    expect(unquoteGitPath('"bad\\377name.txt"')).toEqual(Buffer.concat([Buffer.from('bad'), Buffer.from([0xff]), Buffer.from('name.txt')]));
    expect(unquoteGitPath('"caf\\303\\251 \\"q\\" \\\\ \\t"').toString('utf8')).toBe('café "q" \\ \t');
    expect(gitPath(Buffer.from('café/ünïcode.md'))).toEqual({ name: 'café/ünïcode.md' });
    expect(gitPath(Buffer.from([0x61, 0xff, 0x0a, 0x1b, 0x5c, 0xc3, 0x28]))).toEqual({ name: 'a\\xff\\n\\x1b\\\\\\xc3(', raw: Buffer.from([0x61, 0xff, 0x0a, 0x1b, 0x5c, 0xc3, 0x28]) });
    expect(parseGitPathLines('plain.txt\n"\\376image.qcow2"\n').map((p) => p.name)).toEqual(['plain.txt', '\\xfeimage.qcow2']);
    expect(shellQuoteBytes(Buffer.from([0xfe, 0x27, 0x61]))).toBe("$'\\xfe\\x27a'");
    expect(bytesPathspec(Buffer.from([0x61, 0x2a, 0xff, 0x62]))).toBe(':(glob)a\\*?b');
  });
});
