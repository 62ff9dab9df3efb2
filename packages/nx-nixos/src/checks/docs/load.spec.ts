import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadDocsTree } from './load';

describe('loadDocsTree exclude', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'docs-load-'));
    for (const file of ['docs/README.md', 'pkg/a/README.md', 'pkg/b/README.md', 'pkg/c/README.md', 'pkg/a,b/README.md']) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), '# x\n');
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads globs in the plugin dialect: braces are alternatives, a comma outside them is a comma', () => {
    expect(loadDocsTree(root, 'docs', { exclude: ['pkg/{a,b}/**'] }).checked).toEqual(['docs/README.md', 'pkg/a,b/README.md', 'pkg/c/README.md']);
    expect(loadDocsTree(root, 'docs', { exclude: ['pkg/a,b/*'] }).checked).toEqual(['docs/README.md', 'pkg/a/README.md', 'pkg/b/README.md', 'pkg/c/README.md']);
  });

  it('refuses a glob outside the dialect, naming the option', () => {
    expect(() => loadDocsTree(root, 'docs', { exclude: ['!pkg/**'] })).toThrow(
      'exclude: "!pkg/**" starts with "!" (negation), which is not supported: list what to match instead. See docs/reference/globs.md for the globs it takes.',
    );
  });
});
