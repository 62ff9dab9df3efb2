import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDocs } from './check';
import { loadDocsTree } from './load';
import { retiredCommands } from './retired';
import type { DocsCheckInput, DocsFinding } from './types';

const FIXTURES = join(__dirname, '../../../test/fixtures/docs');
const GRAPH = {
  development: ['build-image', 'vm-test', 'launch', 'stop', 'status', 'hygiene'],
  production: ['build-image', 'vm-test', 'launch'],
  demo: ['build-image', 'launch'],
  docs: ['docs-check'],
  repo: ['doctor', 'hygiene'],
};

/** The retired commands a fixture sets in its nx.json (docsCheck.retiredCommands). */
function fixtureRetired(fixture: string) {
  const nx = join(FIXTURES, fixture, 'nx.json');
  return existsSync(nx) ? retiredCommands(JSON.parse(readFileSync(nx, 'utf8')).plugins[0].options.docsCheck.retiredCommands) : [];
}

function check(fixture: string, extra: Partial<DocsCheckInput> = {}) {
  return checkDocs({ ...loadDocsTree(join(FIXTURES, fixture), 'docs'), docsDir: 'docs', graph: GRAPH, retired: fixtureRetired(fixture), ...extra });
}
const summary = (findings: DocsFinding[], rule?: string) =>
  findings
    .filter((f) => !rule || f.rule === rule)
    .map((f) => `${f.rule} ${f.file}:${f.line ?? '-'} ${f.subject}`)
    .sort();

describe('links and anchors (fixture "links")', () => {
  const { findings, notes } = check('links');

  it('finds exactly the broken links: missing files and images, missing anchors, escapes; reference-style at the definition', () => {
    expect(summary(findings)).toEqual([
      'docs/escapes-repo docs/reference/links.md:15 ../../../../outside.md',
      'docs/missing-anchor docs/reference/links.md:13 #no-such-heading',
      'docs/missing-anchor docs/reference/links.md:14 target.md#no-such-section',
      'docs/missing-file docs/reference/links.md:12 missing-page.md',
      'docs/missing-file docs/reference/links.md:16 ../img/diagram.png',
      'docs/missing-file docs/reference/links.md:20 ./gone.md',
      'docs/missing-file docs/reference/links.md:22 ../img/missing.svg',
    ]);
    expect(notes).toEqual([]);
  });

  it('says what is there instead', () => {
    const anchor = findings.find((f) => f.subject === 'target.md#no-such-section')!;
    expect(anchor.message).toContain('docs/reference/target.md has no heading or anchor "#no-such-section"');
    expect(anchor.fix).toContain('#install-steps');
    expect(anchor.column).toBe(36);
  });
});

describe('GitHub slugs (fixture "slugs")', () => {
  it('resolves punctuation, unicode (plain and percent-encoded), duplicates, code spans, case; rejects near misses', () => {
    const { findings } = check('slugs');
    expect(summary(findings)).toEqual([
      'docs/missing-anchor docs/reference/slug-links.md:24 headings.md#duplicate-3',
      'docs/missing-anchor docs/reference/slug-links.md:25 headings.md#the-`nx-run`-command',
      'docs/missing-anchor docs/reference/slug-links.md:26 headings.md#c-rust',
    ]);
    expect(findings.find((f) => f.subject === 'headings.md#c-rust')!.fix).toBe('Did you mean #c--rust?');
  });
});

describe('Divio structure and orphans (fixture "structure")', () => {
  it('flags pages outside the sections and pages no index reaches', () => {
    const { findings } = check('structure');
    expect(summary(findings)).toEqual([
      'docs/orphan docs/explanation/only-linked-from-a-page.md:- docs/explanation/only-linked-from-a-page.md',
      'docs/orphan docs/notes.md:- docs/notes.md',
      'docs/orphan docs/reference/unlinked.md:- docs/reference/unlinked.md',
      'docs/outside-divio docs/misc/page.md:- docs/misc/page.md',
      'docs/outside-divio docs/notes.md:- docs/notes.md',
    ]);
    expect(findings.find((f) => f.file === 'docs/reference/unlinked.md')!.fix).toContain('[unlinked](reference/unlinked.md)');
  });

  it('reports a docs folder without an index', () => {
    const files = new Set(['docs/how-to/a.md']);
    const { findings } = checkDocs({ files, markdown: new Map([['docs/how-to/a.md', '# A\n\nText.\n']]), checked: ['docs/how-to/a.md'], docsDir: 'docs' });
    expect(summary(findings)).toEqual(['docs/no-index docs:- docs']);
  });
});

describe('stub pages (fixture "stubs")', () => {
  const { findings } = check('stubs');

  it('flags pages that only point elsewhere and lists the links to update', () => {
    expect(summary(findings)).toEqual([
      'docs/link-to-stub docs/README.md:3 how-to/old-launch.md',
      'docs/link-to-stub docs/README.md:6 how-to/see-elsewhere.md',
      'docs/link-to-stub docs/tutorials/first-vm.md:3 ../how-to/old-launch.md',
      'docs/stub docs/how-to/old-launch.md:- docs/how-to/old-launch.md',
      'docs/stub docs/how-to/see-elsewhere.md:- docs/how-to/see-elsewhere.md',
    ]);
    expect(findings.find((f) => f.rule === 'docs/stub' && f.file === 'docs/how-to/old-launch.md')!.message).toContain(
      'Linked from docs/README.md:3, docs/tutorials/first-vm.md:3.',
    );
  });

  it('offers a fix only when the stub has a single target page', () => {
    const edits = findings.filter((f) => f.edit).map((f) => f.edit);
    expect(edits).toEqual([
      { file: 'docs/README.md', line: 3, from: 'how-to/old-launch.md', to: 'how-to/launch-a-profile.md' },
      { file: 'docs/tutorials/first-vm.md', line: 3, from: '../how-to/old-launch.md', to: '../how-to/launch-a-profile.md' },
    ]);
  });

  it('does not take short real pages for stubs', () => {
    expect(check('structure').findings.some((f) => f.rule === 'docs/stub')).toBe(false);
  });
});

describe('commands (fixture "commands")', () => {
  const { findings } = check('commands');

  it('checks nx commands in shell fences and inline code against the graph', () => {
    expect(summary(findings, 'docs/stale-command')).toEqual([
      'docs/stale-command docs/how-to/commands.md:19 nx run nonexistent:build-image',
      'docs/stale-command docs/how-to/commands.md:20 nx run development:deploy',
      'docs/stale-command docs/how-to/commands.md:21 nx lanch development',
      'docs/stale-command docs/how-to/commands.md:22 nx affected -t vm-test,bogus-target',
      'docs/stale-command docs/how-to/commands.md:23 nx show project staging',
      'docs/stale-command docs/how-to/commands.md:27 nx run developmnt:launch',
      'docs/stale-command docs/how-to/commands.md:30 nx run docs:lint',
      'docs/stale-command docs/how-to/commands.md:56 nx run dev:launch',
    ]);
    const typo = findings.find((f) => f.subject === 'nx lanch development')!;
    expect(typo.message).toBe('`nx lanch development`: project "development" has no target "lanch".');
    expect(typo.fix).toMatch(/^Did you mean "launch"\?/);
  });

  it('finds retired commands and gives their replacements, except in rows that map old to new', () => {
    expect(findings.filter((f) => f.rule === 'docs/retired-command').map((f) => [f.line, f.subject, f.edit?.to ?? null])).toEqual([
      [41, './run.sh start', 'npx nx run <profile>:launch'],
      [42, 'rave vm build-image --profile production', 'npx nx run production:build-image'],
      [43, 'rave vm launch-local --profile=demo', 'npx nx run demo:launch'],
      [44, 'rave vm list-profiles', 'npx nx show projects'],
      [45, 'rave secrets install', null],
      [46, 'scripts/repo/hygiene-check.sh', 'npx nx run repo:hygiene'],
      [49, 'rave vm build-image --profile development', 'npx nx run development:build-image'],
    ]);
  });

  it('skips the command rule with a note when there is no graph', () => {
    const result = check('commands', { graph: undefined });
    expect(result.findings.some((f) => f.rule === 'docs/stale-command')).toBe(false);
    expect(result.notes).toEqual([expect.stringContaining('docs/stale-command skipped')]);
  });
});

describe('options', () => {
  it('reports links to moved pages with a rewrite to the new place', () => {
    const { findings } = check('links', { moved: { 'docs/reference/gone.md': 'docs/how-to/with-readme/README.md' } });
    expect(findings.find((f) => f.subject === './gone.md')).toMatchObject({
      rule: 'docs/moved-page',
      edit: { file: 'docs/reference/links.md', line: 20, from: './gone.md', to: '../how-to/with-readme/README.md' },
    });
  });

  it('leaves out disabled rules', () => {
    const { findings } = check('structure', { disabledRules: ['docs/orphan'] });
    expect(findings.map((f) => f.rule)).toEqual(['docs/outside-divio', 'docs/outside-divio']);
  });
});
