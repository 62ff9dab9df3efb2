import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { applyEdits } from './fix';
import { runDocsCheck } from './run';
import { captureConsole } from '../../testing/console-capture';
import { runWithinBudget } from '../../testing/within-budget';

const FIXTURES = join(__dirname, '../../../test/fixtures/docs');
const GRAPH = { development: ['build-image', 'launch'], production: ['build-image', 'launch'], demo: ['launch'], repo: ['hygiene'], docs: ['docs-check'] };

let dirs: string[] = [];
function copyFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `docs-check-${name}-`));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe('applyEdits', () => {
  it('replaces on the given line, else the nearest line holding the text, and keeps CRLF', () => {
    const text = 'a\r\nrun old\r\nb\r\nold\r\n';
    const { text: out, applied, skipped } = applyEdits(text, [
      { file: 'f', line: 2, from: 'old', to: 'new' },
      { file: 'f', line: 1, from: 'old', to: 'NEW' },
      { file: 'f', line: 3, from: 'absent', to: 'x' },
    ]);
    expect(out).toBe('a\r\nrun new\r\nb\r\nNEW\r\n');
    expect(applied).toHaveLength(2);
    expect(skipped).toEqual([{ file: 'f', line: 3, from: 'absent', to: 'x' }]);
  });
});

describe('runDocsCheck --fix', () => {
  it('rewrites retired commands in code and links to stub pages, atomically, then reports what is left', async () => {
    const root = copyFixture('commands');
    const { retiredCommands } = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')).plugins[0].options.docsCheck;
    const before = await runDocsCheck({ root, docsDir: 'docs', graph: GRAPH, format: 'json', retiredCommands });
    expect(before.exitCode).toBe(1);
    const run = await runDocsCheck({ root, docsDir: 'docs', graph: GRAPH, fix: true, format: 'json', retiredCommands });
    const page = readFileSync(join(root, 'docs/how-to/commands.md'), 'utf8');
    expect(page).toContain('npx nx run production:build-image\n');
    expect(page).toContain('npx nx run demo:launch\n');
    expect(page).toContain('npx nx show projects\n');
    expect(page).toContain('npx nx run repo:hygiene --fix\n');
    expect(page).toContain('Inline retired: `npx nx run development:build-image`.');
    expect(page).toContain('rave secrets install');
    expect(run.fixed).toHaveLength(6);
    expect(run.findings.filter((f) => f.rule === 'docs/retired-command').map((f) => f.subject)).toEqual(['rave secrets install']);
    expect(run.messages).toContain('Fixed 6 finding(s) in 1 file(s).');
  });

  it('follows a page that moved: the only file of that name under the same top folder', async () => {
    const root = copyFixture('links');
    writeFileSync(join(root, 'docs/how-to/missing-page.md'), '# Moved here\n');
    const run = await runDocsCheck({ root, docsDir: 'docs', fix: true, disabledRules: ['docs/orphan'] });
    expect(readFileSync(join(root, 'docs/reference/links.md'), 'utf8')).toContain('Broken file: [missing](../how-to/missing-page.md).');
    expect(run.findings.some((f) => f.subject === 'missing-page.md')).toBe(false);
    expect(run.fixed).toEqual([{ file: 'docs/reference/links.md', line: 12, from: 'missing-page.md', to: '../how-to/missing-page.md' }]);
  });

  it('points links at the page a stub points to', async () => {
    const root = copyFixture('stubs');
    await runDocsCheck({ root, docsDir: 'docs', fix: true });
    expect(readFileSync(join(root, 'docs/tutorials/first-vm.md'), 'utf8')).toContain('[launch it](../how-to/launch-a-profile.md)');
    const after = await runDocsCheck({ root, docsDir: 'docs' });
    expect(after.findings.filter((f) => f.rule === 'docs/link-to-stub').map((f) => f.file)).toEqual(['docs/README.md']);
  });
});

describe('runDocsCheck output contract', () => {
  it('exits 0 on a clean tree and prints "No findings."', async () => {
    const root = copyFixture('slugs');
    writeFileSync(join(root, 'docs/reference/slug-links.md'), '# Links\n\nThe greeting section explains how [the greeting](headings.md#hello-world) is written and why.\n');
    expect(await runDocsCheck({ root, docsDir: 'docs' })).toMatchObject({ exitCode: 0, report: 'No findings.\n' });
  });

  it('honours an allowlist keyed by rule + path + content hash, and names unused entries', async () => {
    const root = copyFixture('slugs');
    const first = await runDocsCheck({ root, docsDir: 'docs', format: 'json' });
    const findings = JSON.parse(first.report).findings as Array<{ rule: string; file: string; hash: string }>;
    expect(findings).toHaveLength(3);
    const entries = findings.map((f) => ({ rule: f.rule, path: f.file, hash: f.hash, reason: 'kept on purpose' }));
    entries.push({ rule: 'docs/orphan', path: 'docs/nowhere.md', hash: '*', reason: 'stale' });
    writeFileSync(join(root, 'allow.json'), JSON.stringify(entries));
    // Lines move; the hashes still match.
    const page = join(root, 'docs/reference/slug-links.md');
    writeFileSync(page, '\n\n' + readFileSync(page, 'utf8'));
    const second = await runDocsCheck({ root, docsDir: 'docs', allowlist: 'allow.json' });
    expect(second.exitCode).toBe(0);
    expect(second.messages).toContain('allow.json: entry docs/orphan docs/nowhere.md * matches nothing; remove it.');
  });

  it('rejects a malformed allowlist with the file and the entry', async () => {
    const root = copyFixture('slugs');
    writeFileSync(join(root, 'allow.json'), JSON.stringify([{ rule: 'docs/orphan', path: 'x', hash: 'nothex' }]));
    await expect(runDocsCheck({ root, docsDir: 'docs', allowlist: 'allow.json' })).rejects.toThrow(/allow\.json: 0\.hash: a 16-hex-digit content hash/);
  });

  it('writes SARIF with the rule table and GitHub annotations', async () => {
    const root = copyFixture('slugs');
    const sarif = JSON.parse((await runDocsCheck({ root, docsDir: 'docs', format: 'sarif' })).report);
    expect(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)).toContain('docs/missing-anchor');
    expect(sarif.runs[0].results).toHaveLength(3);
    const github = (await runDocsCheck({ root, docsDir: 'docs', format: 'github' })).report;
    expect(github.split('\n')[0]).toMatch(/^::error file=docs\/reference\/slug-links\.md,line=24,col=\d+,title=docs\/missing-anchor::/);
  });
});

describe('nx-nixos docs-check (CLI)', () => {
  let printed: { out: string; err: string };
  beforeEach(() => {
    printed = captureConsole();
  });
  afterEach(() => jest.restoreAllMocks());

  it('checks a folder outside any Nx workspace: findings exit 1, the command rule is skipped with a note', async () => {
    const root = copyFixture('links');
    expect(await main(['docs-check', join(root, 'docs'), '--root', root, '--format', 'json'])).toBe(1);
    expect(JSON.parse(printed.out).findings).toHaveLength(7);
    expect(printed.err).toContain('has no nx.json: docs/stale-command is skipped');
  });

  it('exits 0 when clean and 2 on bad usage', async () => {
    const root = copyFixture('structure');
    expect(await main(['docs-check', join(root, 'docs'), '--root', root, '--disable', 'docs/orphan', '--disable', 'docs/outside-divio'])).toBe(0);
    expect(printed.out).toBe('No findings.\n');
    expect(await main(['docs-check', join(root, 'docs'), '--format', 'xml'])).toBe(2);
    expect(printed.err).toContain('--format xml: expected one of text, json, sarif, github.');
    expect(await main(['docs-check', join(root, 'nope')])).toBe(2);
    expect(printed.err).toContain('is not a folder');
  });

  it('applies the docsCheck options of nx.json, flags over them, and rejects a wrong one naming it', async () => {
    const root = copyFixture('commands');
    const nxJson = join(root, 'nx.json');
    const nx = JSON.parse(readFileSync(nxJson, 'utf8'));
    nx.plugins[0].options.docsCheck.format = 'json';
    writeFileSync(nxJson, JSON.stringify(nx));
    expect(await main(['docs-check', join(root, 'docs'), '--root', root, '--no-graph'])).toBe(1);
    expect(JSON.parse(printed.out).findings.filter((f: { rule: string }) => f.rule === 'docs/retired-command')).toHaveLength(7);
    printed.out = '';
    expect(await main(['docs-check', join(root, 'docs'), '--root', root, '--no-graph', '--format', 'github'])).toBe(1);
    expect(printed.out).toMatch(/^::error file=docs\/how-to\/commands\.md,line=41,title=docs\/retired-command::/m);
    nx.plugins[0].options.docsCheck.retiredCommands[0].pattern = '(';
    writeFileSync(nxJson, JSON.stringify(nx));
    expect(await main(['docs-check', join(root, 'docs'), '--root', root, '--no-graph'])).toBe(2);
    expect(printed.err).toContain('option "docsCheck.retiredCommands[0].pattern" of plugin @rave/nx-nixos is invalid: not an RE2 regular expression');
    nx.plugins[0].options.docsCheck.retiredCommands[0] = { pattern: 'a' };
    writeFileSync(nxJson, JSON.stringify(nx));
    expect(await main(['docs-check', join(root, 'docs'), '--root', root, '--no-graph'])).toBe(2);
    expect(printed.err).toContain(`${nxJson}: option "docsCheck.retiredCommands[0]" of plugin @rave/nx-nixos is invalid: "replacement" is missing.`);
  });
});

// A file outside every tree the tests check, with content that must never show up in any output.
const SECRET = 'root:$6$s3cr3t-hash:19000:0:99999:7:::\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n';
function outsideFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'docs-check-outside-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'shadow'), SECRET);
  return join(dir, 'shadow');
}
const leaks = (text: string) => text.includes('s3cr3t') || text.includes('wJalrXUtnFEMI') || text.includes('root:');

describe('docs-check reads only regular files inside the tree', () => {
  let printed: { out: string; err: string };
  beforeEach(() => {
    printed = captureConsole();
  });
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['a path that climbs out with ..', () => '../../../../../../../../etc/passwd', /is not inside the repository/],
    ['an absolute path outside the tree', () => outsideFile(), /is not inside the repository/],
    ['a symlink inside the tree that leads out', (root: string) => (symlinkSync(outsideFile(), join(root, 'allow.json')), 'allow.json'), /is a symlink that leads outside the repository/],
  ])('--allowlist as %s: exit 2, names the file and the reason, never reads or quotes it', async (_what, make, reason) => {
    const root = copyFixture('slugs');
    const allowlist = make(root);
    expect(await main(['docs-check', join(root, 'docs'), '--root', root, '--no-graph', '--allowlist', allowlist])).toBe(2);
    expect(printed.err).toMatch(reason);
    expect(printed.err).toContain(`${allowlist}: cannot read the allowlist`);
    expect(leaks(printed.out + printed.err)).toBe(false);
  });

  // In a worker stopped at a budget: reading a FIFO blocks for ever and /dev/zero never ends.
  it.each([
    ['a FIFO', (root: string) => execFileSync('mkfifo', [join(root, 'allow.json')]), /allow\.json: cannot read the allowlist: it is not a regular file/],
    ['a symlink to a device', (root: string) => symlinkSync('/dev/zero', join(root, 'allow.json')), /allow\.json: cannot read the allowlist: it is a symlink that leads outside/],
  ])('--allowlist as %s: an error at once, nothing read', async (_what, make, reason) => {
    const root = copyFixture('slugs');
    make(root);
    const result = await runWithinBudget(require.resolve('./run'), 'runDocsCheck', { root, docsDir: 'docs', allowlist: 'allow.json' }, 20_000);
    expect(result.error).toMatch(reason);
  }, 40_000);

  it('names the line and column of an allowlist that is not JSON, without quoting it', async () => {
    const root = copyFixture('slugs');
    writeFileSync(join(root, 'allow.json'), `[\n  ${SECRET}]`);
    await expect(runDocsCheck({ root, docsDir: 'docs', allowlist: 'allow.json' })).rejects.toThrow(/^allow\.json: not valid JSON at line 2, column 3/);
    const error = await runDocsCheck({ root, docsDir: 'docs', allowlist: 'allow.json' }).then(() => '', (e: Error) => e.message);
    expect(leaks(error)).toBe(false);
  });

  it('reports a page that is a symlink out of the tree, a FIFO or a device as docs/unreadable, and reads none of them', async () => {
    const root = copyFixture('links');
    symlinkSync(outsideFile(), join(root, 'docs/reference/shadow.md'));
    symlinkSync('/dev/zero', join(root, 'docs/reference/zero.md'));
    execFileSync('mkfifo', [join(root, 'pipe')]);
    symlinkSync('../../pipe', join(root, 'docs/reference/pipe.md'));
    symlinkSync('/nonexistent/page.md', join(root, 'docs/reference/dangling.md'));
    // A symlink that stays inside the tree is read like the page it points to.
    symlinkSync('links.md', join(root, 'docs/reference/alias.md'));
    const result = await runWithinBudget(require.resolve('./run'), 'runDocsCheck', { root, docsDir: 'docs', format: 'json' }, 20_000);
    expect(result.error).toBeUndefined();
    const run = result.value as Awaited<ReturnType<typeof runDocsCheck>>;
    const unreadable = run.findings.filter((f) => f.rule === 'docs/unreadable').map((f) => `${f.file}: ${f.message}`);
    expect(unreadable.sort()).toEqual([
      'docs/reference/dangling.md: docs/reference/dangling.md was not read: it is a symlink to nothing.',
      'docs/reference/pipe.md: docs/reference/pipe.md was not read: it is not a regular file (a FIFO).',
      'docs/reference/shadow.md: docs/reference/shadow.md was not read: it is a symlink that leads outside the repository.',
      'docs/reference/zero.md: docs/reference/zero.md was not read: it is a symlink that leads outside the repository.',
    ]);
    expect(run.findings.some((f) => f.file === 'docs/reference/alias.md' && f.rule === 'docs/missing-file')).toBe(true);
    expect(leaks(run.report)).toBe(false);
  }, 40_000);

  it('refuses a docs folder outside the tree, by name or through a symlink', async () => {
    const root = copyFixture('links');
    await expect(runDocsCheck({ root, docsDir: '../elsewhere' })).rejects.toThrow(/docs folder "\.\.\/elsewhere" is outside the repository/);
    const elsewhere = mkdtempSync(join(tmpdir(), 'docs-check-elsewhere-'));
    dirs.push(elsewhere);
    symlinkSync(elsewhere, join(root, 'linked-docs'));
    await expect(runDocsCheck({ root, docsDir: 'linked-docs' })).rejects.toThrow(/docs folder "linked-docs" leads outside the repository .*\(a symlink\)/);
    expect(await main(['docs-check', join(root, 'linked-docs'), '--root', root])).toBe(2);
    expect(printed.err).toContain('is outside the root');
  });

  it('names the folder it cannot list and what to do, instead of a raw EACCES (--root /)', async () => {
    const root = copyFixture('links');
    mkdirSync(join(root, 'locked'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module itself, not an import's copy of it: the walk calls fs.readdirSync through it
    const fs = require('node:fs') as typeof import('node:fs');
    const readdir = fs.readdirSync;
    jest.spyOn(fs, 'readdirSync').mockImplementation(((path: import('node:fs').PathLike, options?: unknown) => {
      if (String(path).endsWith('/locked')) throw Object.assign(new Error(`EACCES: permission denied, scandir '${String(path)}'`), { code: 'EACCES' });
      return readdir(path, options as never);
    }) as typeof fs.readdirSync);
    expect(await main(['docs-check', join(root, 'docs'), '--root', root, '--no-graph'])).toBe(2);
    expect(printed.err).toContain(`cannot list the folder ${join(root, 'locked')} (EACCES) while reading the tree at ${root}`);
    expect(printed.err).toContain('pass --root to the repository the docs belong to');
  });
});

describe('docs-check in a tree it may not list', () => {
  // As root every folder can be listed: drop to nobody to meet a real EACCES.
  const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath] : [process.execPath];

  it('names the folder and what to do, with a real permission error', () => {
    const root = mkdtempSync(join(tmpdir(), 'docs-check-locked-'));
    dirs.push(root);
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs/README.md'), '# Docs\n');
    mkdirSync(join(root, 'locked'), { mode: 0o000 });
    fs.chmodSync(root, 0o755);
    const [program, ...args] = asUser;
    const run = spawnSync(program, [...args, join(__dirname, '../../../bin/nx-nixos.js'), 'docs-check', join(root, 'docs'), '--root', root, '--no-graph'], { encoding: 'utf8', env: { ...process.env, HOME: tmpdir() } });
    fs.chmodSync(join(root, 'locked'), 0o755);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`cannot list the folder ${join(root, 'locked')} (EACCES) while reading the tree at ${root}. The tree must be one you can read: pass --root to the repository`);
  }, 60_000);
});
