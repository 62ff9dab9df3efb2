import { readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { git } from '../../git/git';
import { glob, GlobError, type Glob } from '../../glob/glob';
import { isMarkdown, trimTrailingSlashes } from './paths';
import { TreeReader } from './read-tree';

const SKIPPED_DIRS = new Set(['.git', 'node_modules', '.nx']);

/** Files of the tree at `root`: `git ls-files` (tracked + untracked, not ignored, not deleted), or a walk outside Git. */
export function listFiles(root: string): string[] {
  try {
    const all = git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']).split('\0').filter(Boolean);
    const deleted = new Set(git(root, ['ls-files', '-z', '--deleted']).split('\0').filter(Boolean));
    return [...new Set(all)].filter((f) => !deleted.has(f));
  } catch {
    return walk(root);
  }
}

/** Every entry below root that is not a folder; symlinked folders are entries, never followed. */
function walk(root: string): string[] {
  const out: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const dir = join(root, rel);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      const { code, message } = e as NodeJS.ErrnoException;
      throw new Error(
        `cannot list the folder ${dir} (${code ?? message}) while reading the tree at ${root}. ` +
          `The tree must be one you can read: pass --root to the repository the docs belong to (by default the nearest folder above the docs with nx.json, else the Git top level).`,
        { cause: e },
      );
    }
    for (const entry of entries) {
      if (SKIPPED_DIRS.has(entry.name)) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) pending.push(path);
      else out.push(path);
    }
  }
  return out.sort();
}

/** An exclude glob over workspace-relative paths (docs/reference/globs.md); an error names the option. */
export function excludeGlob(pattern: string): Glob {
  try {
    return glob(pattern);
  } catch (e) {
    if (e instanceof GlobError) throw new Error(`exclude: ${e.message}. See docs/reference/globs.md for the globs it takes.`, { cause: e });
    throw e;
  }
}

export interface DocsTree {
  files: Set<string>;
  markdown: Map<string, string>;
  checked: string[];
  /** Files to check that were not read, and why (a symlink leading out of the tree, a FIFO, a device, too large). */
  unreadable: Map<string, string>;
}

/**
 * Reads what docs-check needs: every file name, every Markdown file, and which of them to check. Only
 * regular files inside the tree are read (see TreeReader).
 */
export function loadDocsTree(root: string, docsDir: string, options: { readmes?: boolean; exclude?: readonly string[]; reader?: TreeReader } = {}): DocsTree {
  const files = new Set(listFiles(root).map((f) => f.split('\\').join('/')));
  const exclude = (options.exclude ?? []).map(excludeGlob);
  const reader = options.reader ?? new TreeReader(root);
  const markdown = new Map<string, string>();
  const checked: string[] = [];
  const unreadable = new Map<string, string>();
  const dir = docsDir === '.' ? '' : trimTrailingSlashes(docsDir);
  for (const file of [...files].sort()) {
    if (!isMarkdown(file)) continue;
    const inDocs = dir === '' || file.startsWith(`${dir}/`);
    const readme = options.readmes !== false && /^readme\.md$/i.test(posix.basename(file));
    // Exclusions apply to READMEs elsewhere (e.g. deliberately broken test fixtures), never to the docs folder.
    const check = inDocs || (readme && !exclude.some((re) => re.test(file)));
    const read = reader.read(file);
    if (read.text === undefined) {
      if (check && !read.missing) unreadable.set(file, read.problem);
      continue;
    }
    markdown.set(file, read.text);
    if (check) checked.push(file);
  }
  return { files, markdown, checked, unreadable };
}
