import GithubSlugger = require('github-slugger');
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

/** Deterministic pseudo-random numbers (mulberry32), so a seed always gives the same tree. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SECTIONS = ['tutorials', 'how-to', 'reference', 'explanation'];

export interface GeneratedTree {
  files: number;
  links: number;
}

/**
 * Writes a docs tree of `pages` Markdown pages under root/docs with about `linksPerPage` links each:
 * links to pages, headings (punctuation, unicode, code spans, duplicates) and images, inline and
 * reference-style, some broken on purpose (missing files, missing anchors), and links inside code
 * fences that must not count. Used by the agreement test and the benchmark.
 */
export function generateDocsTree(root: string, options: { pages: number; linksPerPage: number; seed?: number }): GeneratedTree {
  const rand = random(options.seed ?? 1);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)];
  const pages = Array.from({ length: options.pages }, (_, i) => `docs/${SECTIONS[i % SECTIONS.length]}/page-${i}.md`);
  const headings = pages.map((_, i) => [
    `Install step ${i}`,
    `Über Größe ${i % 7}`,
    `The \`nx run\` command, part ${i % 5}`,
    'C++ & Rust!',
    'Notes',
    'Notes',
    `Version 1.${i % 9} (beta)`,
    `日本語 ${i % 3}`,
  ]);
  const slugs = headings.map((list, i) => {
    const slugger = new GithubSlugger();
    return [slugger.slug(`Page ${i}`), ...list.map((h) => slugger.slug(h))];
  });
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('docs/images/diagram.png', 'PNG');
  let links = 0;

  write('docs/README.md', `# Docs\n\n${SECTIONS.map((s) => `- [${s}](${s}/)`).join('\n')}\n`);
  links += SECTIONS.length;
  for (const section of SECTIONS) {
    const own = pages.filter((p) => p.startsWith(`docs/${section}/`));
    write(`docs/${section}/README.md`, `# ${section}\n\n${own.map((p) => `- [${posix.basename(p)}](${posix.basename(p)})`).join('\n')}\n`);
    links += own.length;
  }

  pages.forEach((page, i) => {
    const rel = (to: string) => posix.relative(posix.dirname(page), to) || posix.basename(to);
    const out: string[] = [`# Page ${i}`, ''];
    const definitions: string[] = [];
    const items: string[] = [];
    for (let n = 0; n < options.linksPerPage; n++) {
      const r = rand();
      const j = Math.floor(rand() * pages.length);
      if (r < 0.45) items.push(`[to ${j}](${rel(pages[j])})`);
      else if (r < 0.65) items.push(`[to ${j} anchor](${rel(pages[j])}#${pick(slugs[j])})`);
      else if (r < 0.7) items.push(`[missing](${rel(`docs/${pick(SECTIONS)}/gone-${j}.md`)})`);
      else if (r < 0.75) items.push(`[bad anchor](${rel(pages[j])}#no-heading-${j})`);
      else if (r < 0.8) items.push(`[here](#${pick(slugs[i])})`);
      else if (r < 0.83) items.push(`[here, wrong](#not-here-${n})`);
      else if (r < 0.86) items.push(`[section](../${pick(SECTIONS)}/)`);
      else if (r < 0.9) {
        const label = `ref-${n}`;
        items.push(`[by reference][${label}]`);
        definitions.push(rand() < 0.8 ? `[${label}]: ${rel(pages[j])}#${pick(slugs[j])}` : `[${label}]: ${rel(pages[j])}#gone-${n}`);
      } else if (r < 0.95) items.push(rand() < 0.8 ? `![diagram](${rel('docs/images/diagram.png')})` : `![lost](${rel(`docs/images/lost-${n}.png`)})`);
      else items.push(`[upper case anchor](${rel(pages[j])}#${slugs[j][1].toUpperCase()})`);
      links++;
    }
    headings[i].forEach((heading, h) => {
      out.push(`## ${heading}`, '');
      const chunk = items.slice(Math.floor((h * items.length) / headings[i].length), Math.floor(((h + 1) * items.length) / headings[i].length));
      // Several links per line, several lines per paragraph.
      for (let k = 0; k < chunk.length; k += 12) {
        const lines = [];
        for (let m = k; m < Math.min(k + 12, chunk.length); m += 4) lines.push(`Text ${chunk.slice(m, m + 4).join(', then ')}.`);
        out.push(...lines, '');
      }
      if (h === 2) out.push('```sh', `cat [not a link](missing-in-fence-${i}.md)`, '```', '');
    });
    out.push(...definitions, '');
    write(page, out.join('\n'));
  });
  return { files: pages.length + SECTIONS.length + 1, links };
}
