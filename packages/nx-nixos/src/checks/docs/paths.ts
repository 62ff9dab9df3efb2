import { posix } from 'node:path';

export const MARKDOWN_EXTENSIONS = /\.(md|markdown|mdown|mkdn)$/i;
const README = /^(readme|index)\.(md|markdown|mdown|mkdn)$/i;

export const isMarkdown = (path: string) => MARKDOWN_EXTENSIONS.test(path);
/** README.md or index.md: the page a folder link shows. */
export const isIndexPage = (path: string) => README.test(posix.basename(path));

/** A path without its trailing slashes (a loop: `/\/+$/` retries every run of slashes, quadratic in its length). */
export function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return path.slice(0, end);
}

/** Every folder that holds at least one of `files` ('' is the root). */
export function foldersOf(files: Iterable<string>): Set<string> {
  const dirs = new Set<string>(['']);
  for (const file of files) {
    let dir = posix.dirname(file);
    while (dir !== '.' && !dirs.has(dir)) {
      dirs.add(dir);
      dir = posix.dirname(dir);
    }
  }
  return dirs;
}

/** The page GitHub shows for a folder: its README (any Markdown extension), else index.md. */
export function folderPage(dir: string, files: ReadonlySet<string>): string | undefined {
  const prefix = dir ? `${dir}/` : '';
  for (const name of ['README.md', 'readme.md', 'Readme.md', 'README.markdown', 'index.md']) {
    if (files.has(prefix + name)) return prefix + name;
  }
  return undefined;
}

/** Path of `to` as a link from a page at `from` (both workspace-relative). */
export function relativeLink(from: string, to: string): string {
  const rel = posix.relative(posix.dirname(from), to);
  return rel === '' ? posix.basename(to) : rel;
}

export type Resolved =
  | { kind: 'external' }
  | { kind: 'escapes'; path: string }
  | { kind: 'local'; path: string; hash?: string };

/**
 * Resolves a link destination found in `from` the way GitHub does for a file view: relative to the
 * page, `/x` from the repository root, query strings dropped, `#hash` kept for anchor checks.
 */
export function resolveLink(from: string, target: string, image: boolean): Resolved {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return { kind: 'external' };
  let value = target;
  const hashAt = value.indexOf('#');
  const queryAt = value.indexOf('?');
  if (queryAt !== -1 && (hashAt === -1 || hashAt > queryAt)) value = value.slice(0, queryAt) + (hashAt === -1 ? '' : value.slice(hashAt));
  let hash: string | undefined;
  const at = value.indexOf('#');
  if (at !== -1) {
    hash = value.slice(at + 1);
    value = value.slice(0, at);
  }
  if (image) hash = undefined;
  let path: string;
  if (value === '') path = from;
  else {
    const joined = value.startsWith('/') ? value.slice(1) : posix.join(posix.dirname(from), value);
    path = trimTrailingSlashes(posix.normalize(joined || '.'));
    if (path === '.') path = '';
    if (path === '..' || path.startsWith('../')) return { kind: 'escapes', path };
  }
  return hash ? { kind: 'local', path, hash } : { kind: 'local', path };
}
