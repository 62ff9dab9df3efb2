import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isMarkdown } from './paths';

const SKIPPED_DIRS = new Set(['.git', 'node_modules', '.nx']);

/** Files of the tree at `root`: `git ls-files` (tracked + untracked, not ignored, not deleted), or a walk outside Git. */
export function listFiles(root: string): string[] {
  const git = (args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const all = git(['ls-files', '-z', '--cached', '--others', '--exclude-standard']).split('\0').filter(Boolean);
    const deleted = new Set(git(['ls-files', '-z', '--deleted']).split('\0').filter(Boolean));
    return [...new Set(all)].filter((f) => !deleted.has(f));
  } catch {
    return walk(root);
  }
}

function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      if (SKIPPED_DIRS.has(entry.name)) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) visit(path);
      else out.push(path);
    }
  };
  visit('');
  return out;
}

/** A glob (`*`, `**`, `?`) as a regular expression over workspace-relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export interface DocsTree {
  files: Set<string>;
  markdown: Map<string, string>;
  checked: string[];
}

/** Reads what docs-check needs: every file name, every Markdown file, and which of them to check. */
export function loadDocsTree(root: string, docsDir: string, options: { readmes?: boolean; exclude?: readonly string[] } = {}): DocsTree {
  const files = new Set(listFiles(root).map((f) => f.split('\\').join('/')));
  const exclude = (options.exclude ?? []).map(globToRegExp);
  const markdown = new Map<string, string>();
  const checked: string[] = [];
  const dir = docsDir === '.' ? '' : docsDir.replace(/\/+$/, '');
  for (const file of [...files].sort()) {
    if (!isMarkdown(file)) continue;
    const path = join(root, file);
    if (!existsSync(path)) continue;
    markdown.set(file, readFileSync(path, 'utf8'));
    const inDocs = dir === '' || file.startsWith(`${dir}/`);
    const readme = options.readmes !== false && /^readme\.md$/i.test(posix.basename(file));
    // Exclusions apply to READMEs elsewhere (e.g. deliberately broken test fixtures), never to the docs folder.
    if (inDocs || (readme && !exclude.some((re) => re.test(file)))) checked.push(file);
  }
  return { files, markdown, checked };
}
