import { posix } from 'node:path';
import { localLinks, pageOf } from './links';
import { folderPage, isIndexPage, isMarkdown, relativeLink } from './paths';
import type { DocsContext, DocsFinding } from './types';

export const DIVIO_FOLDERS = ['tutorials', 'how-to', 'reference', 'explanation'] as const;
const ALLOWED_FOLDERS = new Set<string>([...DIVIO_FOLDERS, 'adr']);

const under = (dir: string, path: string) => (dir === '' ? true : path === dir || path.startsWith(`${dir}/`));
const within = (dir: string, path: string) => (dir === '' ? path : path.slice(dir.length + 1));

/** Markdown pages of the docs folder. */
export function docsPages(ctx: DocsContext): string[] {
  const { docsDir, files } = ctx.input;
  return [...files].filter((f) => isMarkdown(f) && under(docsDir, f) && f !== docsDir).sort();
}

/** docs/no-index, docs/outside-divio and docs/orphan. */
export function checkStructure(ctx: DocsContext): DocsFinding[] {
  const { docsDir, files } = ctx.input;
  const pages = docsPages(ctx);
  const findings: DocsFinding[] = [];
  const root = folderPage(docsDir, files);

  for (const page of pages) {
    const rel = within(docsDir, page);
    const top = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : undefined;
    if (top === undefined ? isIndexPage(page) : ALLOWED_FOLDERS.has(top)) continue;
    findings.push({
      rule: 'docs/outside-divio',
      severity: 'error',
      file: page,
      subject: page,
      message: `${page} is not in a Divio section (${[...DIVIO_FOLDERS].map((d) => `${d}/`).join(', ')}) nor adr/.`,
      fix: `Move it to ${docsDir ? `${docsDir}/` : ''}<section>/${posix.basename(page)} for what it is (a lesson, a recipe, facts, or background) and link it from that section's index.`,
    });
  }

  if (!root) {
    findings.push({
      rule: 'docs/no-index',
      severity: 'error',
      file: docsDir || '.',
      subject: docsDir,
      message: `${docsDir || 'The docs folder'} has no README.md or index.md, so no page can be reached from an index.`,
      fix: `Add ${docsDir ? `${docsDir}/` : ''}README.md linking to every section.`,
    });
    return findings;
  }

  // Pages reachable from the root index, following links of index pages only.
  const linked = new Set<string>([root]);
  const queue = [root];
  for (let next = 0; next < queue.length; next++) {
    const index = queue[next];
    for (const link of localLinks(ctx, index)) {
      const page = pageOf(ctx, link.path);
      if (!page || !isMarkdown(page) || !under(docsDir, page) || linked.has(page)) continue;
      linked.add(page);
      if (isIndexPage(page)) queue.push(page);
    }
  }
  for (const page of pages) {
    if (linked.has(page)) continue;
    const sectionIndex = folderPage(posix.dirname(page), files);
    const from = sectionIndex && sectionIndex !== page ? sectionIndex : root;
    findings.push({
      rule: 'docs/orphan',
      severity: 'error',
      file: page,
      subject: page,
      message: `No index page links to ${page} (directly or through other index pages from ${root}).`,
      fix: `Link it from ${from}, e.g. [${posix.basename(page, posix.extname(page))}](${relativeLink(from, page)}), or delete it.`,
    });
  }
  return findings;
}
