import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import { contentHash } from '../../report/finding';
import { describeIfTools } from '../../testing/tools';
import { makeGitRepo, QCOW2_HEADER } from '../../testing/git-repo';
import { testEnv } from '../../testing/workspace';
import { HYGIENE_RULE_IDS } from './rules';
import { parseHygieneOptions } from './options';
import { runHygiene } from './run';
import { scanRepository } from './scan';

const BIN = join(__dirname, '../../../bin/nx-nixos.js');
const FIXTURES = join(__dirname, '../../../test/fixtures/hygiene');
const QCOW2 = QCOW2_HEADER;
const POINTER = `version https://git-lfs.github.com/spec/v1\noid sha256:${'4d7a'.repeat(16)}\nsize 4096\n`;

const makeRepo = (files: Record<string, string | Buffer>) => makeGitRepo(files, 'hygiene-scan-');

const cli = (cwd: string, args: string[]) => spawnSync(process.execPath, [BIN, 'hygiene', ...args], { cwd, encoding: 'utf8', env: testEnv() });

describeIfTools(['git'])('hygiene over a Git repository', () => {
  let repo: ReturnType<typeof makeRepo>;
  beforeAll(() => {
    repo = makeRepo({
      '.gitignore': '/artifacts/*\n!/artifacts/README.md\n*.log\nbuild/\n',
      '.gitattributes': '*.bin filter=lfs diff=lfs merge=lfs -text\n',
      '.sops.yaml': 'creation_rules:\n  - path_regex: (^|/)secrets/[^/]+\\.yaml$\n    age: age1x\n',
      'artifacts/README.md': '# Artifacts\n',
      'artifacts/old/manifest.json': '{}\n',
      'backups/nixos-2024.tar.gz': QCOW2,
      'models/weights.bin': Buffer.alloc(4096, 7),
      'models/ok.bin': POINTER,
      'hosts/a.nix': readFileSync(join(FIXTURES, 'nix/plaintext.nix')),
      'hosts/clean.nix': readFileSync(join(FIXTURES, 'nix/clean.nix')),
      'secrets/app.yaml': readFileSync(join(FIXTURES, 'sops/plaintext.yaml')),
      'config/secrets.yaml': readFileSync(join(FIXTURES, 'sops/encrypted.yaml')),
      'docs/old.md': 'Run legacy/archive/build.sh first.\n',
      'legacy/archive/build.sh': 'echo legacy/archive/self\n',
      'test/fixtures/leaked.nix': '{ password = "fixture-only"; }\n',
      'data/big.dat': Buffer.alloc(64 * 1024, 1),
    });
    repo.git('add', '-f', 'artifacts/old/manifest.json');
    repo.git('commit', '-qm', 'a build output, forced in');
    repo.write('stray/disk.img', Buffer.from('raw bytes'));
    repo.write('stray/ignored.log', QCOW2);
    repo.write('build/out.qcow2', QCOW2);
  });
  afterAll(() => repo?.cleanup());

  const opts = { legacyFolders: ['legacy/archive'], largeFileWarnMiB: 0.03, largeFileErrorMiB: 0.1 };

  it('finds every kind of problem in one pass, with findings tied to files and rules', () => {
    const run = runHygiene(repo.root, opts);
    const got = run.findings.map((f) => `${f.rule} ${f.file}${f.line ? `:${f.line}` : ''} ${f.severity}`).sort();
    expect(got).toEqual(
      [
        'artifacts/tracked artifacts/old/manifest.json error',
        'image/committed backups/nixos-2024.tar.gz error',
        'image/untracked stray/disk.img warning',
        'image/untracked stray/ignored.log warning',
        'lfs/not-pointer models/weights.bin error',
        'secret/nix-plaintext hosts/a.nix:3 error',
        'secret/nix-plaintext hosts/a.nix:6 error',
        'secret/nix-plaintext hosts/a.nix:8 error',
        'secret/nix-plaintext hosts/a.nix:9 error',
        'secret/nix-plaintext hosts/a.nix:10 error',
        'secret/nix-plaintext hosts/a.nix:11 error',
        'secret/nix-plaintext hosts/a.nix:14 error',
        'secret/nix-plaintext hosts/a.nix:15 error',
        'secret/sops-plaintext secrets/app.yaml:3 error',
        'size/large data/big.dat warning',
        'stale/legacy-reference docs/old.md:1 warning',
      ].sort(),
    );
    expect(run.exitCode).toBe(1);
    // build/ is an ignored folder: not walked. test/fixtures/ is excluded from content rules.
    expect(got.join('\n')).not.toMatch(/build\/out|test\/fixtures|models\/ok\.bin|config\/secrets/);
  });

  it('checks files on several threads with the same findings, in the same order, as on one', () => {
    const options = parseHygieneOptions(opts);
    const one = scanRepository(repo.root, options, { minFilesPerThread: Number.POSITIVE_INFINITY });
    expect(one.findings.length).toBeGreaterThan(10);
    // Chunks of one file: every thread takes some; then the workers alone check every file.
    expect(scanRepository(repo.root, options, { minFilesPerThread: 1, chunkFiles: 1 })).toEqual(one);
    expect(scanRepository(repo.root, options, { minFilesPerThread: 1, chunkFiles: 2, mainThreadChecks: false })).toEqual(one);
  });

  it('reads a text file past its first 64 KiB up to maxScanKiB, and not beyond', () => {
    const token = 'gh' + 'p_KwVJ7faC9qEwjky40UVsWmflzdE1F8ResqED';
    repo.write('docs/long.md', `${'x'.repeat(100 * 1024)}\n${token}\n`);
    try {
      const tokens = (maxScanKiB: number) => runHygiene(repo.root, { ...opts, maxScanKiB }).findings.filter((f) => f.file === 'docs/long.md').map((f) => `${f.rule}:${f.line}`);
      expect(tokens(1024)).toEqual(['secret/token:2']);
      expect(tokens(64)).toEqual([]);
    } finally {
      rmSync(join(repo.root, 'docs/long.md'));
    }
  });

  it('leaves out tracked files deleted from the working tree, and does not follow symlinks', () => {
    try {
      repo.write('hosts/gone.nix', '{ password = "deleted-before-commit"; }\n');
      repo.git('add', 'hosts/gone.nix');
      rmSync(join(repo.root, 'hosts/gone.nix'));
      symlinkSync('a.nix', join(repo.root, 'hosts/link.nix'));
      repo.git('add', 'hosts/link.nix');
      const run = runHygiene(repo.root, { ...opts, untracked: false });
      expect(run.files).toBeGreaterThan(10);
      expect(run.findings.filter((f) => f.file === 'hosts/gone.nix' || f.file === 'hosts/link.nix')).toEqual([]);
      expect(run.findings.filter((f) => f.file === 'hosts/a.nix')).toHaveLength(8);
    } finally {
      repo.git('rm', '-q', '--cached', '--ignore-unmatch', 'hosts/gone.nix', 'hosts/link.nix');
      rmSync(join(repo.root, 'hosts/link.nix'), { force: true });
    }
  });

  it('re-levels and switches off rules; tracked-only leaves untracked and ignored files out', () => {
    const run = runHygiene(repo.root, { ...opts, untracked: false, rules: { 'secret/nix-plaintext': 'off', 'stale/legacy-reference': 'error', 'size/large': 'note' } });
    const rules = run.findings.map((f) => `${f.rule} ${f.severity}`);
    expect(rules).not.toContain('secret/nix-plaintext error');
    expect(rules).toContain('stale/legacy-reference error');
    expect(rules).toContain('size/large note');
    expect(rules.some((r) => r.startsWith('image/untracked'))).toBe(false);
  });

  it('profile scope checks only the profile folder and the Nix paths it reads', () => {
    const run = runHygiene(repo.root, { ...opts, scope: 'profile', profileRoot: 'hosts', profilePaths: ['docs/**'] });
    expect([...new Set(run.findings.map((f) => f.file))].sort()).toEqual(['docs/old.md', 'hosts/a.nix']);
    expect(() => runHygiene(repo.root, { scope: 'profile' })).toThrow('scope "profile" needs profileRoot');
  });

  it('profile scope reads its globs as the plugin does: braces too, which Git pathspecs do not have', () => {
    const run = runHygiene(repo.root, { ...opts, scope: 'profile', profileRoot: 'hosts', profilePaths: ['{docs,nothing}/*.md'] });
    expect([...new Set(run.findings.map((f) => f.file))].sort()).toEqual(['docs/old.md', 'hosts/a.nix']);
  });

  it('keeps allowlisted findings out by rule + path + content hash and reports unused entries', () => {
    const [finding] = runHygiene(repo.root, opts).findings.filter((f) => f.rule === 'stale/legacy-reference');
    writeFileSync(
      join(repo.root, 'hygiene-allowlist.json'),
      JSON.stringify([
        { rule: finding.rule, path: finding.file, hash: contentHash(finding), reason: 'documents the migration' },
        { rule: 'secret/token', path: 'gone.env', hash: '*', reason: 'was removed' },
      ]),
    );
    try {
      const run = runHygiene(repo.root, { ...opts, allowlist: 'hygiene-allowlist.json' });
      expect(run.findings.some((f) => f.rule === 'stale/legacy-reference')).toBe(false);
      expect(run.suppressed).toHaveLength(1);
      expect(run.messages).toContain('hygiene-allowlist.json: entry { rule: secret/token, path: gone.env, hash: * } matches no finding; remove it.');
    } finally {
      rmSync(join(repo.root, 'hygiene-allowlist.json'));
    }
  });

  it('writes SARIF 2.1.0 that validates against the schema, atomically, with no secret in clear', () => {
    const run = runHygiene(repo.root, { ...opts, format: 'sarif', output: 'reports/hygiene.sarif' });
    expect(run.stdout).toMatch(/^\d+ finding\(s\): .* sarif report written to reports\/hygiene\.sarif\.\n$/);
    const text = readFileSync(join(repo.root, 'reports/hygiene.sarif'), 'utf8');
    expect(readdirSync(join(repo.root, 'reports'))).toEqual(['hygiene.sarif']);
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
    const parses = (base?: string) => (s: string) => {
      try {
        return Boolean(new URL(s, base));
      } catch {
        return false;
      }
    };
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false, formats: { uri: parses(), 'uri-reference': parses('file:///'), 'date-time': (s: string) => !Number.isNaN(Date.parse(s)) } });
    const validate = ajv.compile(schema);
    const sarif = JSON.parse(text);
    expect(validate(sarif) ? [] : validate.errors).toEqual([]);
    expect(validate({ ...sarif, version: '2.0.0' })).toBe(false);
    expect(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id).sort()).toEqual([...HYGIENE_RULE_IDS].sort());
    for (const secret of ['changeme', 'grafana-admin-2024', 'Sup3rS3cret!', 'hunter2-plaintext', 'multi-line-secret-value']) expect(text).not.toContain(secret);
    // The report quotes legacy paths; the next run that writes it does not report its own output.
    expect(runHygiene(repo.root, { ...opts, format: 'sarif', output: 'reports/hygiene.sarif' }).findings).toHaveLength(run.findings.length);
    rmSync(join(repo.root, 'reports'), { recursive: true });
  });

  it('never scans its own report, whatever characters of globs its name has', () => {
    const output = 'reports/hygiene (1) {a,b} [x]*.json';
    const run = runHygiene(repo.root, { ...opts, format: 'json', output });
    expect(runHygiene(repo.root, { ...opts, format: 'json', output }).findings).toHaveLength(run.findings.length);
    rmSync(join(repo.root, 'reports'), { recursive: true });
  });

  it('refuses an exclude glob outside the dialect, naming the option', () => {
    expect(() => runHygiene(repo.root, { ...opts, exclude: ['!(x)'] })).toThrow(/^hygiene options: "exclude\.0": "!\(x\)" uses "!\(\.\.\.\)" .*; see docs\/reference\/globs\.md\.$/);
  });

  it('json and github formats carry the same findings; nothing in clear', () => {
    const json = JSON.parse(runHygiene(repo.root, { ...opts, format: 'json' }).stdout);
    expect(json.findings.length).toBe(16);
    expect(json.findings[0]).toHaveProperty('hash');
    const github = runHygiene(repo.root, { ...opts, format: 'github' }).stdout;
    expect(github.split('\n').filter(Boolean)).toHaveLength(16);
    expect(github).toMatch(/^::error file=hosts\/a\.nix,line=3,col=\d+,title=secret\/nix-plaintext::/m);
    expect(github + JSON.stringify(json)).not.toMatch(/changeme|hunter2-plaintext/);
  });

  it('nx-nixos hygiene exits 1 on findings, 0 when clean, 2 when it cannot run', () => {
    const dirty = cli(repo.root, ['--legacy', 'legacy/archive']);
    expect(dirty.status).toBe(1);
    expect(dirty.stdout).toContain('hosts/a.nix\n  3:38     error   initialPassword is set to a plaintext string ("********")');
    expect(dirty.stdout).toContain('fix: git rm --cached -q -- backups/nixos-2024.tar.gz && mkdir -p artifacts/images && mv -- backups/nixos-2024.tar.gz artifacts/images/nixos-2024.tar.gz');

    const clean = makeRepo({ 'README.md': '# Clean\n', 'flake.nix': '{ outputs = { self }: { }; }\n' });
    try {
      const ok = cli(clean.root, []);
      expect([ok.status, ok.stdout]).toEqual([0, 'No findings.\n']);
    } finally {
      clean.cleanup();
    }

    const notGit = mkdtempSync(join(tmpdir(), 'hygiene-nogit-'));
    try {
      const error = cli(notGit, []);
      expect(error.status).toBe(2);
      expect(error.stderr).toMatch(/is not inside a Git working tree/);
    } finally {
      rmSync(notGit, { recursive: true, force: true });
    }
    const badOption = cli(repo.root, ['--rule', 'size/huge=off']);
    expect(badOption.status).toBe(2);
    expect(badOption.stderr).toContain('"rules": unknown rule(s) "size/huge"');
    expect(existsSync(join(repo.root, 'size'))).toBe(false);
  });

  it("nx-nixos hygiene reads the plugin's hygiene options from nx.json, and flags override them", () => {
    const nxJson = (hygiene: unknown) =>
      writeFileSync(join(repo.root, 'nx.json'), JSON.stringify({ plugins: [{ plugin: '@rave/nx-nixos', options: { hygiene } }] }));
    try {
      nxJson({ legacyFolders: ['legacy/archive'], rules: { 'stale/legacy-reference': 'error' } });
      const fromNxJson = cli(repo.root, ['--format', 'json']);
      expect(JSON.parse(fromNxJson.stdout).findings).toContainEqual(expect.objectContaining({ rule: 'stale/legacy-reference', severity: 'error', file: 'docs/old.md' }));
      const overridden = cli(repo.root, ['--format', 'json', '--rule', 'stale/legacy-reference=off']);
      expect(JSON.parse(overridden.stdout).findings.map((f: { rule: string }) => f.rule)).not.toContain('stale/legacy-reference');
      nxJson(['not', 'an', 'object']);
      const bad = cli(repo.root, []);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('nx.json: plugins[@rave/nx-nixos].options.hygiene must be an object of hygiene options.');
    } finally {
      rmSync(join(repo.root, 'nx.json'));
    }
  });

  it('nx-nixos hygiene --scope profile checks the profile folder and its static Nix closure, not other Nix files', () => {
    const ws = makeRepo({
      // The flake reads every profile folder; the profile scope keeps only the profile's own.
      'flake.nix': '{ outputs = { self }: { profiles = builtins.mapAttrs (n: _: import ./profiles/${n}/profile.nix) (builtins.readDir ./profiles); }; }\n',
      'profiles/dev/profile.nix': '{ ... }: { imports = [ ../../infra/used.nix ../../infra/shared ]; }\n',
      'profiles/dev/notes.md': 'token ghp_' + 'KwVJ7faC9qEwjky40UVsWmflzdE1F8ResqED\n',
      'profiles/prod/profile.nix': '{ ... }: { users.users.root.initialPassword = "prod-only-secret"; }\n',
      'infra/used.nix': '{ ... }: { services.grafana.settings.security.admin_password = "Zk8-rT2q-Lw9x"; }\n',
      'infra/shared/default.nix': '{ ... }: { imports = [ ./mail.nix ]; }\n',
      'infra/shared/mail.nix': '{ ... }: { mailserver.loginAccounts.a.password = "Mail-9x7-Secret"; }\n',
      'infra/unused.nix': '{ ... }: { users.users.root.password = "not-read-by-dev"; }\n',
    });
    try {
      const run = cli(ws.root, ['--scope', 'profile', '--profile-root', 'profiles/dev', '--format', 'json']);
      expect(run.status).toBe(1);
      const files = JSON.parse(run.stdout).findings.map((f: { rule: string; file: string }) => `${f.rule} ${f.file}`);
      expect(files.sort()).toEqual(['secret/nix-plaintext infra/shared/mail.nix', 'secret/nix-plaintext infra/used.nix', 'secret/token profiles/dev/notes.md']);
    } finally {
      ws.cleanup();
    }
  });

  it('uses a lower budget for files added since the base ref', () => {
    const base = repo.git('rev-parse', 'HEAD').trim();
    repo.write('data/new.dat', Buffer.alloc(40 * 1024, 2));
    repo.git('add', 'data/new.dat');
    try {
      const run = runHygiene(repo.root, { ...opts, baseRef: base, newFileBudgetMiB: 0.01 });
      expect(run.findings.filter((f) => f.rule.startsWith('size/')).map((f) => `${f.rule} ${f.file}`).sort()).toEqual(['size/large data/big.dat', 'size/large-new data/new.dat']);
      expect(() => runHygiene(repo.root, { baseRef: 'no-such-ref' })).toThrow(/baseRef "no-such-ref": no merge base with HEAD/);
    } finally {
      repo.git('rm', '-q', '--cached', 'data/new.dat');
      rmSync(join(repo.root, 'data/new.dat'));
    }
  });
});
