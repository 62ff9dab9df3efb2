import { readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { nixSourceReader } from './read';
import { PathLiteral, scanPathLiterals } from './path-literals';

/**
 * Static import graph of a workspace's Nix files. It over-approximates on purpose: whatever Nix could
 * read while evaluating a file is a dependency, so a change never goes unnoticed.
 */

export interface NixDependency {
  /** A single file, or a whole folder (every file below it). Workspace-relative, POSIX separators. */
  kind: 'file' | 'folder';
  path: string;
  line: number;
  /** Why it is a dependency: the literal as written. */
  literal: string;
}

export interface ExternalReference {
  /** `<nixpkgs/...>` lookup, absolute or `~/` path, or a relative path leaving the workspace. */
  kind: 'search' | 'absolute' | 'home' | 'outside';
  text: string;
  line: number;
}

export interface FileImports {
  file: string;
  dependencies: NixDependency[];
  external: ExternalReference[];
}

/** The file-system questions the resolver asks; the default reads the real disk. */
export interface FileSystemView {
  isDirectory(absPath: string): boolean;
  /** Every file under a folder, recursively, absolute paths. */
  listFiles(absDir: string): string[];
}

export const diskView: FileSystemView = {
  isDirectory(p) {
    try {
      return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
    } catch {
      return false;
    }
  },
  listFiles(dir) {
    const found: string[] = [];
    // A stack, not recursion: folders may nest as deep as the file system allows.
    const pending = [dir];
    while (pending.length > 0) {
      const d = pending.pop() as string;
      let entries;
      try {
        entries = readdirSync(d, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (e.name === 'node_modules' || e.name === '.git') continue;
        const p = join(d, e.name);
        // A symlinked folder is not followed (it may lead out of the workspace); it is listed as an entry.
        if (e.isDirectory()) pending.push(p);
        else found.push(p);
      }
    }
    return found.sort();
  },
};

/** Whether a path relative to a root (as path.relative gives it) leaves that root. `..dots.nix` does not. */
export function leavesRoot(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/**
 * The disk as seen from inside `root`: a folder counts only when its real path (symlinks followed) is
 * inside the root, and only such folders are listed. A symlink to a folder elsewhere is then a file
 * dependency like any other, and nothing outside the root is ever listed.
 */
export function insideView(root: string, disk: FileSystemView = diskView): FileSystemView {
  let realRoot: string | undefined;
  const inside = (p: string) => {
    try {
      realRoot ??= realpathSync.native(root);
      return !leavesRoot(relative(realRoot, realpathSync.native(p)));
    } catch {
      return false;
    }
  };
  return {
    // Files are the common answer and need no realpath: only a folder is checked.
    isDirectory: (p) => disk.isDirectory(p) && inside(p),
    listFiles: (d) => (inside(d) ? disk.listFiles(d) : []),
  };
}

const toPosix = (p: string) => p.split(sep).join(posix.sep);

/** Resolves one file's path literals. `file` is workspace-relative; `source` its content. */
export function resolveFileImports(root: string, file: string, source: string, fs: FileSystemView = insideView(root)): FileImports {
  return resolveLiterals(root, file, scanPathLiterals(source), fs);
}

/** Resolves already scanned literals (scanning is the part worth caching; resolution asks the disk). */
export function resolveLiterals(root: string, file: string, literals: PathLiteral[], fs: FileSystemView = insideView(root)): FileImports {
  // A file may name one path many times: the disk is asked once per path.
  const folders = new Map<string, boolean>();
  const asked: FileSystemView = {
    isDirectory(p) {
      let d = folders.get(p);
      if (d === undefined) folders.set(p, (d = fs.isDirectory(p)));
      return d;
    },
    listFiles: (d) => fs.listFiles(d),
  };
  const absRoot = resolve(root);
  const dir = dirname(resolve(absRoot, file));
  const result: FileImports = { file: toPosix(file), dependencies: [], external: [] };
  const seen = new Set<string>();
  const add = (dep: NixDependency) => {
    const key = `${dep.kind}:${dep.path}`;
    if (!seen.has(key)) {
      seen.add(key);
      result.dependencies.push(dep);
    }
  };
  for (const lit of literals) {
    if (lit.kind === 'search' || lit.kind === 'home' || lit.kind === 'absolute') {
      result.external.push({ kind: lit.kind, text: lit.kind === 'search' ? `<${lit.text}>` : lit.text, line: lit.line });
      continue;
    }
    const dep = resolveLiteral(absRoot, dir, lit, asked);
    if (!dep) result.external.push({ kind: 'outside', text: lit.text, line: lit.line });
    else add(dep);
  }
  return result;
}

function resolveLiteral(absRoot: string, dir: string, lit: PathLiteral, fs: FileSystemView): NixDependency | undefined {
  const abs = resolve(dir, lit.text);
  let target = abs;
  let kind: NixDependency['kind'] = 'file';
  if (lit.dynamic) {
    // `./foo/${x}` may name anything in foo/; `./a/b${x}` anything in a/; `./. + "/x"` anything below.
    kind = 'folder';
    if (lit.text.endsWith('/') || fs.isDirectory(abs)) target = abs;
    else target = dirname(abs);
  } else if (fs.isDirectory(abs)) {
    if (lit.imported) target = join(abs, 'default.nix');
    else kind = 'folder';
  }
  const rel = relative(absRoot, target);
  if (leavesRoot(rel) || resolve(absRoot, rel) !== target) return undefined;
  return { kind, path: toPosix(rel) || '.', line: lit.line, literal: lit.text };
}

export type ImportGraph = Map<string, FileImports>;

/** Parses every given file (workspace-relative) that is a regular file inside the workspace (see nixSourceReader). */
export function buildImportGraph(root: string, files: string[], fs: FileSystemView = insideView(root)): ImportGraph {
  const graph: ImportGraph = new Map();
  const read = nixSourceReader(root);
  for (const f of files) {
    const source = read(f);
    if (source.text !== undefined) graph.set(toPosix(f), resolveFileImports(root, f, source.text, fs));
  }
  return graph;
}

export interface Closure {
  /** Files the entry files can read (including themselves), sorted. */
  files: string[];
  /** Folders read as a whole (their files are also in `files`), sorted. */
  folders: string[];
  external: Array<ExternalReference & { file: string }>;
}

/**
 * Everything evaluation of `entries` may read. Nix files reached (directly or inside a folder dependency)
 * are followed in turn; `load` returns a file's imports, or undefined for a file that does not exist.
 */
export function importClosure(root: string, entries: string[], load: (file: string) => FileImports | undefined, fs: FileSystemView = insideView(root)): Closure {
  const absRoot = resolve(root);
  const files = new Set<string>();
  const folders = new Set<string>();
  const external: Closure['external'] = [];
  const queue: string[] = [];
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    if (file.endsWith('.nix')) queue.push(file);
  };
  for (const e of entries) visit(toPosix(e));
  for (let next = 0; next < queue.length; next++) {
    const file = queue[next];
    const imports = load(file);
    if (!imports) continue;
    for (const x of imports.external) external.push({ ...x, file });
    for (const dep of imports.dependencies) {
      if (dep.kind === 'file') visit(dep.path);
      else if (!folders.has(dep.path)) {
        folders.add(dep.path);
        for (const abs of fs.listFiles(resolve(absRoot, dep.path))) visit(toPosix(relative(absRoot, abs)));
      }
    }
  }
  return { files: [...files].sort(), folders: [...folders].sort(), external };
}
