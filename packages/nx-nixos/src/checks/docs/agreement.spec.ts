import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDocsTree } from './fixture-tree';
import { docsCheckLinks, linkFindingKey, remarkValidateLinks } from './remark-reference';

describe('agreement with remark-validate-links', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'docs-check-agreement-'));
    generateDocsTree(root, { pages: 120, linksPerPage: 40, seed: 7 });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds the same missing files and missing anchors on a generated tree', () => {
    const ours = docsCheckLinks(root, 'docs').findings.map(linkFindingKey).sort();
    const theirs = remarkValidateLinks(root, 'docs').findings.map(linkFindingKey).sort();
    expect(ours.filter((k) => k.includes(' missing-file ')).length).toBeGreaterThan(100);
    expect(ours.filter((k) => k.includes(' missing-anchor ')).length).toBeGreaterThan(200);
    expect(ours).toEqual(theirs);
  }, 60_000);
});
