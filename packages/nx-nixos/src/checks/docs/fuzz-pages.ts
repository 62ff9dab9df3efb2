import { checkDocs } from './check';

/**
 * Pages of about 1 MB, each built to hit one scanner's worst case: a pattern retried at every position,
 * a count restarted per match, a spread into push(), recursion. The fuzz test runs each within a budget.
 */
export const SIZE = 1024 * 1024;

/** `unit` repeated to about SIZE characters, between `before` and `after`. */
const fill = (unit: string, before = '', after = '') => before + unit.repeat(Math.ceil(SIZE / unit.length)) + after;

/** A page of 20,000 headings, the target of anchor links. */
const HEADINGS = '## Heading\n\n'.repeat(20_000);

const GRAPH = { development: ['build-image', 'launch'], docs: ['docs-check'], repo: ['hygiene'] };

/** The whole check over one page: parse, links, anchors, commands, structure, stubs. */
export function checkPage(text: string) {
  const page = 'docs/how-to/page.md';
  return checkDocs({
    files: new Set(['docs/README.md', page, 'docs/how-to/other.md']),
    markdown: new Map([
      ['docs/README.md', '# Docs\n\n- [page](how-to/page.md)\n'],
      [page, text],
      ['docs/how-to/other.md', HEADINGS],
    ]),
    checked: ['docs/README.md', page],
    docsDir: 'docs',
    graph: GRAPH,
  });
}

export const ADVERSARIAL_PAGES: Array<[string, () => string]> = [
  ['an HTML block of unclosed `<a ` tags', () => fill('<a ', '<div>\n')],
  ['an HTML block of 40,000+ `<a href>` lines', () => fill('<a href="missing.md">x</a>\n', '<div>\n')],
  ['an HTML block with an unclosed quoted value', () => fill('<a href="x.md" ', '<div>\n<img src="')],
  ['an HTML block of `<img id=` without values', () => fill('<img id= name= src= ', '<p>\n')],
  ['an HTML block of one `<a>` and a megabyte of spaces', () => fill(' ', '<a href="x.md">\n', 'x')],
  ['200,000 links on one line', () => fill('[a](b.md) ', '# T\n\n')],
  ['links to missing anchors of a page with thousands of headings', () => fill('[a](other.md#headin) ', '# T\n\n')],
  ['links to distinct missing anchors of a page with thousands of headings', () => Array.from({ length: 50_000 }, (_, i) => `[a](other.md#h${i}) `).join('') + '\n'],
  ['links whose destination is not written verbatim, on one line', () => fill('[x](&auml;.md) ', '# T\n\n')],
  ['links with runs of slashes', () => fill('[x](a' + '/'.repeat(5000) + 'b) ', '# T\n\n')],
  ['code spans that wrap lines', () => fill('`a\nb` ', '# T\n\n')],
  ['thousands of code spans on one line', () => fill('`echo hello` ', '# T\n\n')],
  ['thousands of inline commands on one line', () => fill('`npx nx run development:deploy` ', '# T\n\n')],
  ['a shell line of comment marks and a line separator', () => fill(' #', '```sh\nnpx nx run a:b', '\u2028x\n```\n')],
  ['a shell command continued over 100,000 lines', () => fill('--verbose \\\n', '```sh\nnpx nx run development:deploy \\\n', 'x\n```\n')],
  ['an nx command repeated with a leading option', () => fill('npx nx -a ', '```sh\n', '\n```\n')],
  ['run-many with thousands of projects and targets', () => `\`\`\`sh\nnpx nx run-many -t ${fill('t,').slice(0, SIZE / 2)} -p ${fill('p,').slice(0, SIZE / 2)}\n\`\`\`\n`],
  ['a migration table of retired commands', () => fill('| `rave vm list-profiles` | `npx nx show projects` |\n', '| old | new |\n|---|---|\n')],
  ['nested brackets', () => fill('[')],
  ['nested images', () => fill('![')],
  ['emphasis delimiters', () => fill('*a **b _')],
  ['nested block quotes', () => fill('> ')],
  ['nested lists', () => fill('- ')],
  ['reference definitions used everywhere', () => fill('[r] ', '[r]: missing.md\n\n')],
  ['a table with many rows', () => fill('| `a` | [b](c.md) |\n', '| x | y |\n|---|---|\n')],
  ['headings that collide with their own slugs', () => fill('## a\n## a-1\n')],
  ['a single heading of a megabyte', () => fill('word ', '# ')],
];

/** Parses and checks one adversarial page; returns how many findings it gave. */
export function checkAdversarialPage(name: string): number {
  const make = ADVERSARIAL_PAGES.find(([n]) => n === name)?.[1];
  if (!make) throw new Error(`no adversarial page "${name}"`);
  return checkPage(make()).findings.length;
}
