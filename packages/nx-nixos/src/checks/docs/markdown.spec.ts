import GithubSlugger = require('github-slugger');
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMarkdown } from './markdown';

const FIXTURES = join(__dirname, '../../../test/fixtures/docs');

describe('parseMarkdown: headings slugged as GitHub does', () => {
  const parsed = parseMarkdown(readFileSync(join(FIXTURES, 'slugs/docs/reference/headings.md'), 'utf8'));
  const slugs = parsed.headings.map((h) => h.slug);

  it.each([
    ['punctuation dropped', 'hello-world'],
    ['unicode letters kept, lowercased', 'über-größe'],
    ['first duplicate', 'duplicate'],
    ['second duplicate gets -1', 'duplicate-1'],
    ['third duplicate gets -2', 'duplicate-2'],
    ['a heading that collides with a generated -1 slug', 'duplicate-1-1'],
    ['code span text kept, backticks dropped', 'the-nx-run-command'],
    ['symbols dropped, spaces kept as hyphens', 'c--rust'],
    ['emoji dropped', 'emoji--party'],
    ['CJK kept', '日本語の見出し'],
    ['inline HTML tags dropped, their text kept', 'html-heading'],
    ['link text kept', 'a-link-in-a-heading'],
    ['underscores and hyphens kept', 'snake_case-and-kebab-case'],
    ['dots and parentheses dropped', 'version-123-beta'],
    ['quotes dropped', 'quotes-double-and-single'],
    ['setext heading', 'setext-heading'],
  ])('%s: #%s', (_why, slug) => {
    expect(slugs).toContain(slug);
  });

  it('gives the same slugs as github-slugger over the heading text', () => {
    const slugger = new GithubSlugger();
    expect(slugs).toEqual(parsed.headings.map((h) => slugger.slug(h.text)));
    expect(parsed.headings.map((h) => h.line)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 34]);
  });
});

describe('parseMarkdown: links', () => {
  it('reports inline links and images with their line and column, and reference-style links at their definition', () => {
    const text = [
      '# T', // 1
      '', // 2
      'First [a](a.md) and', // 3
      'second line [b](b.md#x) ![img](i.png) [again](a.md)', // 4
      '', // 5
      '- item [ref][r] and [r] again', // 6
      '', // 7
      '[r]: <c d.md#y>', // 8
    ].join('\n');
    const links = parseMarkdown(text).links.map(({ kind, target, line, column }) => ({ kind, target, line, column }));
    expect(links).toEqual([
      { kind: 'link', target: 'a.md', line: 3, column: 11 },
      { kind: 'link', target: 'b.md#x', line: 4, column: 17 },
      { kind: 'image', target: 'i.png', line: 4, column: 32 },
      { kind: 'link', target: 'a.md', line: 4, column: 47 },
      { kind: 'definition', target: 'c d.md#y', line: 8, column: 7 },
    ]);
  });

  it('counts nothing inside fenced, indented or inline code', () => {
    const text = ['```md', '[x](fence.md)', '```', '', '    [y](indented.md)', '', 'Text `[z](inline.md)` and ~~~ ok'].join('\n');
    expect(parseMarkdown(text).links).toEqual([]);
  });

  it('percent-decodes destinations and keeps the written form for fixes', () => {
    const [link] = parseMarkdown('[s](my%20page.md#%C3%BCber)\n').links;
    expect(link).toMatchObject({ target: 'my page.md#über', raw: 'my%20page.md#%C3%BCber' });
  });

  it('follows <a href> and <img src> in HTML blocks, as GitHub does', () => {
    const text = '# T\n\n<p align="center">\n  <img src="docs/logo.png" alt="logo">\n  <a href=\'docs/README.md?x=1&amp;y=2#top\'>docs</a>\n</p>\n';
    expect(parseMarkdown(text).links.map(({ kind, target, line }) => ({ kind, target, line }))).toEqual([
      { kind: 'image', target: 'docs/logo.png', line: 4 },
      { kind: 'link', target: 'docs/README.md?x=1&y=2#top', line: 5 },
    ]);
  });

  it('collects explicit HTML anchors (<a id>, <a name>) next to heading slugs', () => {
    const parsed = parseMarkdown('# Top\n\n<a id="Block-Id"></a>\n\nText <a name="inline-name">here</a>.\n');
    expect([...parsed.anchors].sort()).toEqual(['block-id', 'inline-name', 'top']);
  });

  it('collects code: fences with their language and first content line, inline code with its line', () => {
    const table = parseMarkdown('# T\n\n| a | b |\n|---|---|\n| x | `nx run p:t` |\n');
    expect(table.code).toEqual([{ kind: 'inline', lang: '', content: 'nx run p:t', line: 5, context: '| x | `nx run p:t` |' }]);
    const parsed = parseMarkdown('Intro `npx nx graph`\n\n```bash\nnpx nx run a:b\n```\n');
    expect(parsed.code).toEqual([
      { kind: 'inline', lang: '', content: 'npx nx graph', line: 1, context: 'Intro `npx nx graph`' },
      { kind: 'fence', lang: 'bash', content: 'npx nx run a:b\n', line: 4 },
    ]);
  });
});
