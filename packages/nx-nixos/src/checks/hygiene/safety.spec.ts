import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIfTools } from '../../testing/tools';
import { makeGitRepo, QCOW2_HEADER } from '../../testing/git-repo';
import { testEnv } from '../../testing/workspace';
import { REPORT_FORMATS } from '../../report/format';
import { describeFsError } from './fs-errors';
import { runHygiene } from './run';

const BIN = join(__dirname, '../../../bin/nx-nixos.js');
const QCOW2 = QCOW2_HEADER;
// Built at run time so that this file itself holds no token.
const GITHUB_TOKEN = 'gh' + 'p_KwVJ7faC9qEwjky40UVsWmflzdE1F8ResqED';
const AWS_KEY = 'AKIA' + 'Z7QW3RTY5UIO2PLK';
const RANDOM = 'q7Vt' + 'R2xLm9PzW4kJ8sNc3YbH6dFa1GeU5oQi';

const makeRepo = (files: Record<string, string | Buffer> = {}) => makeGitRepo(files, 'hygiene-safety-');

const cli = (cwd: string, args: string[]) =>
  spawnSync(process.execPath, [BIN, 'hygiene', ...args], { cwd, encoding: 'utf8', env: testEnv(), timeout: 30_000 });

describeIfTools(['git'])('hygiene never prints a secret it quotes', () => {
  let repo: ReturnType<typeof makeRepo>;
  beforeAll(() => {
    repo = makeRepo({
      'notes.md': `# see legacy/archive/x, token ${GITHUB_TOKEN}\n`,
      'docs/more.md': [
        `legacy/archive/deploy.sh uses ${AWS_KEY}`,
        `legacy/archive/db.sh: password=Hunter2-Plain-Text`,
        `legacy/archive/env API_KEY: ${RANDOM}`,
        `legacy/archive/url https://deploy:${'S3cr3t-Pa55w0rd'}@db.example.invalid/app`,
        '',
      ].join('\n'),
    });
  });
  afterAll(() => repo?.cleanup());

  it('7: every output format masks secret-shaped text on a line that a legacy-reference finding quotes', () => {
    for (const format of REPORT_FORMATS) {
      const run = runHygiene(repo.root, { legacyFolders: ['legacy/archive'], format });
      expect(run.findings.filter((f) => f.rule === 'stale/legacy-reference')).toHaveLength(5);
      for (const secret of [GITHUB_TOKEN, AWS_KEY, 'Hunter2-Plain-Text', RANDOM, 'S3cr3t-Pa55w0rd']) expect([format, run.stdout.includes(secret)]).toEqual([format, false]);
    }
    const json = cli(repo.root, ['.', '--legacy', 'legacy/archive', '--format', 'json']);
    expect(json.status).toBe(1);
    const stale = JSON.parse(json.stdout).findings.find((f: { rule: string; file: string }) => f.rule === 'stale/legacy-reference' && f.file === 'notes.md');
    expect(stale.subject).toMatch(/^# see legacy\/archive\/x, token ghp\*+\w{3}$/);
    expect(json.stdout).not.toContain(GITHUB_TOKEN);
  });
});

describeIfTools(['git', 'mkfifo'])('hygiene reads only regular files inside the tree', () => {
  let outside: string;
  beforeAll(() => {
    outside = mkdtempSync(join(tmpdir(), 'hygiene-outside-'));
    writeFileSync(join(outside, 'passwd'), `root:x:0:0:see legacy/archive/x ${GITHUB_TOKEN}:/root:/bin/bash\n`);
    writeFileSync(join(outside, 'shadow'), 'root:$6$OUTSIDE-SHADOW-HASH:19000:0:99999:7:::\n');
    writeFileSync(join(outside, 'allow.json'), 'OUTSIDE-CONTENT root:x:0:0\n');
    spawnSync('mkfifo', [join(outside, 'fifo')]);
  });
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  it('8: an allowlist that is a symlink out of the tree is refused, and no allowlist error quotes the file', () => {
    const repo = makeRepo({ 'README.md': '# x\n', 'bad-allowlist.json': '[{"rule": "x", "path": "y", "hash": "*", "reason": "TOKEN-IN-ALLOWLIST' + '"}, oops]\n' });
    try {
      symlinkSync(join(outside, 'allow.json'), join(repo.root, 'allowlist.json'));
      for (const run of [() => runHygiene(repo.root, { allowlist: 'allowlist.json' }), () => runHygiene(repo.root, { allowlist: 'bad-allowlist.json' })]) {
        let message = '';
        try {
          run();
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message).toMatch(/allowlist\.json/);
        expect(message).not.toMatch(/OUTSIDE|root:x|TOKEN-IN-ALLOWLIST|oops/);
      }
      expect(() => runHygiene(repo.root, { allowlist: 'allowlist.json' })).toThrow(/allowlist\.json: leads outside the workspace/);
      expect(() => runHygiene(repo.root, { allowlist: 'bad-allowlist.json' })).toThrow(/bad-allowlist\.json: not valid JSON at line 1, column \d+/);
      const viaCli = cli(repo.root, ['--allowlist', 'allowlist.json']);
      expect(viaCli.status).toBe(2);
      expect(viaCli.stderr).not.toMatch(/OUTSIDE|root:x/);
    } finally {
      repo.cleanup();
    }
  });

  it('8: nx.json, read by the CLI for its options, is refused as a symlink out of the tree, and never quoted when malformed', () => {
    const repo = makeRepo({ 'README.md': '# x\n' });
    try {
      symlinkSync(join(outside, 'passwd'), join(repo.root, 'nx.json'));
      const linked = cli(repo.root, []);
      expect(linked.status).toBe(2);
      expect(linked.stderr).toContain('nx.json: leads outside the workspace');
      expect(linked.stderr).not.toMatch(/root:x|ghp_/);
      rmSync(join(repo.root, 'nx.json'));
      writeFileSync(join(repo.root, 'nx.json'), '{ "plugins": [ TOKEN-IN-NX-JSON ] }\n');
      const malformed = cli(repo.root, []);
      expect(malformed.status).toBe(2);
      expect(malformed.stderr).toMatch(/nx\.json: not valid JSON at line 1, column 16: expected a value/);
      expect(malformed.stderr).not.toContain('TOKEN-IN-NX-JSON');
    } finally {
      repo.cleanup();
    }
  });

  it('9: .gitattributes and .sops.yaml that are symlinks (to a FIFO, /dev/zero, a file outside) are not followed', () => {
    for (const target of [join(outside, 'fifo'), '/dev/zero', join(outside, 'passwd')]) {
      const repo = makeRepo({ 'README.md': '# x\n' });
      try {
        symlinkSync(target, join(repo.root, '.gitattributes'));
        const attributes = cli(repo.root, []);
        expect([target, attributes.error, attributes.status]).toEqual([target, undefined, 0]);

        symlinkSync(target, join(repo.root, '.sops.yaml'));
        repo.git('add', '-A');
        const sops = cli(repo.root, []);
        expect([target, sops.error, sops.status]).toEqual([target, undefined, 2]);
        expect(sops.stderr).toMatch(/\.sops\.yaml: (leads outside the workspace|is not a regular file)/);
        expect(sops.stderr + sops.stdout).not.toMatch(/root:x|OUTSIDE/);
      } finally {
        repo.cleanup();
      }
    }
    // A FIFO inside the tree, reached through an in-tree symlink: not read either.
    const repo = makeRepo({ 'README.md': '# x\n' });
    try {
      spawnSync('mkfifo', [join(repo.root, 'pipe')]);
      symlinkSync('pipe', join(repo.root, '.sops.yaml'));
      symlinkSync('pipe', join(repo.root, '.gitattributes'));
      repo.git('add', '.sops.yaml', '.gitattributes');
      const run = cli(repo.root, []);
      expect([run.error, run.status]).toEqual([undefined, 2]);
      expect(run.stderr).toContain('.sops.yaml: is not a regular file');
    } finally {
      repo.cleanup();
    }
  });

  it('9: tracked files under a folder that became a symlink out of the tree are not read, and a note says so', () => {
    const repo = makeRepo({ 'sub/shadow': 'nothing here\n', 'sub/passwd': 'nothing here either\n', 'docs/a.md': '# a\n' });
    try {
      rmSync(join(repo.root, 'sub'), { recursive: true });
      symlinkSync(outside, join(repo.root, 'sub'));
      for (const untracked of [false, true]) {
        const run = runHygiene(repo.root, { legacyFolders: ['legacy/archive'], format: 'json', untracked });
        expect(run.findings.filter((f) => f.file.startsWith('sub'))).toEqual([]);
        expect(run.stdout + run.messages.join('\n')).not.toMatch(/OUTSIDE|root:x|ghp_/);
        expect(run.messages).toContain('sub/passwd: not read: sub is a symbolic link (hygiene, like Git, does not follow links).');
      }
    } finally {
      repo.cleanup();
    }
  });
});

describeIfTools(['git'])('hygiene says what it could not check', () => {
  it('14: a malformed .sops.yaml stops the run with exit 2, naming the file, line and reason without quoting it', () => {
    const repo = makeRepo({
      '.sops.yaml': 'creation_rules:\n  - path_regex: "secrets/.*[.]yaml\n    age: age1secretrecipient-SHOULD-NOT-PRINT\n',
      'secrets/app.yaml': 'db:\n  password: plaintext-in-sops-file\n',
    });
    try {
      expect(() => runHygiene(repo.root, {})).toThrow(/^\.sops\.yaml: not valid YAML at line \d+, column \d+: /);
      const run = cli(repo.root, []);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/\.sops\.yaml: not valid YAML at line \d+, column \d+: Missing closing "quote/);
      expect(run.stderr + run.stdout).not.toMatch(/SHOULD-NOT-PRINT|plaintext-in-sops-file|secrets\/\.\*/);
    } finally {
      repo.cleanup();
    }
  });

  it('14: files whose names are not valid UTF-8 are checked, and printed escaped', () => {
    const repo = makeRepo({ 'README.md': '# x\n' });
    try {
      const raw = (...parts: Array<string | number[]>) => Buffer.concat([Buffer.from(`${repo.root}/`), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))]);
      writeFileSync(raw('bad', [0xff], 'name.txt'), `token ${GITHUB_TOKEN}\n`);
      writeFileSync(raw([0xfe], 'image.qcow2'), 'not really an image');
      writeFileSync(raw('tab', [0x09], 'and', [0x1b], '[31mred.qcow2'), QCOW2);
      repo.git('add', '-A');
      repo.git('commit', '-qm', 'odd names');
      writeFileSync(raw('untracked', [0xc3, 0x28], '.qcow2'), QCOW2);
      const run = runHygiene(repo.root, {});
      expect(run.findings.map((f) => `${f.rule} ${f.file}`).sort()).toEqual(
        ['image/committed \\xfeimage.qcow2', 'image/committed tab\\tand\\x1b[31mred.qcow2', 'image/untracked untracked\\xc3(.qcow2', 'secret/token bad\\xffname.txt'].sort(),
      );
      expect(run.findings.find((f) => f.file === '\\xfeimage.qcow2')?.fix).toContain("git rm --cached -q -- $'\\xfeimage.qcow2'");
      expect(run.stdout).not.toContain(GITHUB_TOKEN);
      expect(run.stdout).not.toContain('\x1b');
      // Valid UTF-8 names are printed as they are.
      writeFileSync(join(repo.root, 'café.qcow2'), QCOW2);
      expect(runHygiene(repo.root, {}).findings.map((f) => f.file)).toContain('café.qcow2');
    } finally {
      repo.cleanup();
    }
  });

  it('14: a submodule and a nested repository are named in a note, since their files are not checked', () => {
    const repo = makeRepo({ 'README.md': '# x\n' });
    const inner = (path: string) => {
      const dir = join(repo.root, path);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'leak.md'), `token ${GITHUB_TOKEN}\n`);
      for (const args of [['init', '-q'], ['add', '-A'], ['commit', '-qm', 'inner']]) spawnSync('git', ['-C', dir, ...args], { env: testEnv() });
    };
    try {
      inner('vendor/lib');
      repo.git('add', 'vendor/lib');
      repo.git('commit', '-qm', 'a gitlink');
      inner('scratch/clone');
      const run = runHygiene(repo.root, {});
      expect(run.messages).toContain('vendor/lib: a Git submodule; its files are not checked (run hygiene inside it).');
      expect(run.messages).toContain('scratch/clone/: a nested Git repository (not tracked); its files are not checked.');
      const tracked = runHygiene(repo.root, { untracked: false });
      expect(tracked.messages).toContain('vendor/lib: a Git submodule; its files are not checked (run hygiene inside it).');
    } finally {
      repo.cleanup();
    }
  });
});

describeIfTools(['git'])('hygiene explains what it cannot write', () => {
  it('16: --output naming a folder says it is a folder; a path outside the workspace is refused', () => {
    const repo = makeRepo({ 'README.md': '# x\n', 'reports/.keep': '' });
    try {
      expect(() => runHygiene(repo.root, { output: 'reports' })).toThrow('output reports: is a folder; give a file path, e.g. reports/hygiene.txt.');
      const run = cli(repo.root, ['--format', 'sarif', '--output', 'reports']);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('is a folder; give a file path, e.g. reports/hygiene.sarif.');
      expect(run.stderr).not.toContain('EISDIR');
      expect(() => runHygiene(repo.root, { output: join(tmpdir(), 'hygiene-report.json') })).toThrow(/lies outside the workspace/);
      symlinkSync(tmpdir(), join(repo.root, 'out'));
      expect(() => runHygiene(repo.root, { output: 'out/report.json' })).toThrow(/lies outside the workspace/);
    } finally {
      repo.cleanup();
    }
  });

  it('16: a permission error names the path and says what to do, never a bare EACCES', () => {
    const error = (code: string) => Object.assign(new Error(`${code}: permission denied, open '/w/reports/x'`), { code });
    expect(describeFsError(error('EACCES'), 'reports/x', 'write the report to')).toBe(
      'cannot write the report to reports/x: permission denied (EACCES); choose a path you can write to, or fix the permissions of its folder.',
    );
    expect(describeFsError(error('EACCES'), '.sops.yaml', 'read')).toBe('cannot read .sops.yaml: permission denied (EACCES); make it readable (chmod u+r) or run as its owner.');
    expect(describeFsError(error('EROFS'), 'x', 'write the report to')).toMatch(/^cannot write the report to x: the file system is read-only \(EROFS\)/);
    // Root reads and writes anything: the real case only where the tests do not run as root.
    if (process.getuid?.() === 0) return;
    const repo = makeRepo({ 'README.md': '# x\n', 'locked/.keep': '' });
    try {
      chmodSync(join(repo.root, 'locked'), 0o555);
      const run = cli(repo.root, ['--output', 'locked/report.txt']);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('cannot write the report to locked/report.txt: permission denied (EACCES)');
    } finally {
      chmodSync(join(repo.root, 'locked'), 0o755);
      repo.cleanup();
    }
  });
});
