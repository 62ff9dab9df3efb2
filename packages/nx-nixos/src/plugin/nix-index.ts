import { statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { FileSystemView, insideView, nixSourceReader, NixSource, resolveLiterals, scanPathLiterals } from '../nix/imports';
import { hashKey, InferenceCache, pluginCacheKey } from './cache';
import type { ResolvedPluginOptions } from './options';

/** What the graph needs of a Nix file: the files and the whole folders it names (workspace-relative). */
export interface NixEdges {
  files: string[];
  folders: string[];
}

/** A file's edges, and what they were computed from, to check before reuse. */
interface CachedEdges extends NixEdges {
  /** Content key: `nx:` + Nx's hash of the content, or the content's SHA-256. */
  key: string;
  /** size:mtime:ctime:inode of the file when it was read, or null when too recent to trust (see load). */
  stat: string | null;
  /** Paths (workspace-relative, or absolute outside the workspace) that were folders, and that were not. */
  dirs: string[];
  notDirs: string[];
}

/** Files changed less than this long before a graph computation are read even when their stat matches. */
const RACY_MS = 2000;

/**
 * Nix files of one graph computation. Resolved edges are cached per file with their content key and the
 * folder questions their resolution asked; an entry is reused only when the content and the disk's answers
 * are the same. The content is known without reading the file from Nx's hash (createDependencies) or, as
 * Git does for its index, from an unchanged size, mtime, ctime and inode of a file that had not changed
 * for RACY_MS when it was read.
 */
export class NixImportIndex {
  private readonly cache: InferenceCache<CachedEdges>;
  private readonly optionsKey: string;
  private readonly loaded = new Map<string, NixEdges | undefined>();
  private readonly folderFiles = new Map<string, string[]>();
  private readonly used: string[] = [];
  private readonly prefix: string;
  private readonly isDir = new Map<string, boolean>();
  private readonly inputs = new Map<string, string>();
  private readonly started: number;
  private readonly knownFiles: ReadonlySet<string>;
  private readonly contentHashes: ReadonlyMap<string, string>;
  /** The inputs from the flake's own closure, the same for every profile: computed once per graph computation. */
  flakeInputs: string[] | undefined;
  /** Folders of feature modules (option featureModules), which the flake's closure leaves out. */
  featureModuleRoots: readonly string[] = [];

  /** Folder questions asked once per graph computation. */
  readonly fs: FileSystemView;
  /** The disk, where only folders inside the workspace are folders. */
  private readonly disk: FileSystemView;
  private readonly read: (file: string) => NixSource;

  constructor(
    private readonly workspaceRoot: string,
    options: ResolvedPluginOptions,
    {
      purpose = 'nodes',
      knownFiles = new Set(),
      contentHashes = new Map(),
      now = Date.now(),
    }: {
      /** Names the cache file: createNodes and createDependencies each keep the entries they use. */
      purpose?: 'nodes' | 'dependencies';
      /** Workspace-relative paths Nx listed as files: they need no `stat` to tell they are not folders. */
      knownFiles?: ReadonlySet<string>;
      /** Nx's content hashes of files (createDependencies has them): a cached file is not even read. */
      contentHashes?: ReadonlyMap<string, string>;
      /** When this graph computation started (files changed within RACY_MS before it are read). */
      now?: number;
    } = {},
  ) {
    this.knownFiles = knownFiles;
    this.contentHashes = contentHashes;
    this.read = nixSourceReader(workspaceRoot);
    this.started = now;
    this.cache = new InferenceCache<CachedEdges>(workspaceRoot, `nx-nixos-nix-imports-${purpose}`);
    this.prefix = resolve(workspaceRoot) + sep;
    const listed = new Map<string, string[]>();
    this.disk = insideView(workspaceRoot);
    this.fs = {
      isDirectory: (p) => this.isDirectory(this.relative(p)),
      listFiles: (p) => {
        let l = listed.get(p);
        if (!l) listed.set(p, (l = this.disk.listFiles(p)));
        return l;
      },
    };
    // Cache entries are per option set and plugin code, one per file: `<optionsKey>:<file>`.
    this.optionsKey = hashKey(pluginCacheKey(), JSON.stringify(options)).slice(0, 16);
  }

  /** Workspace-relative POSIX path ('.' for the root), or the absolute path when outside the workspace. */
  private relative(abs: string): string {
    if (abs === this.prefix.slice(0, -1)) return '.';
    if (!abs.startsWith(this.prefix)) return abs;
    const rel = abs.slice(this.prefix.length);
    return sep === '/' ? rel : rel.split(sep).join('/');
  }

  private isDirectory(rel: string): boolean {
    let d = this.isDir.get(rel);
    if (d === undefined) {
      const abs = rel === '.' ? this.prefix : rel.startsWith('/') ? rel : this.prefix + rel;
      this.isDir.set(rel, (d = !this.knownFiles.has(rel) && this.disk.isDirectory(abs)));
    }
    return d;
  }

  private stillValid(entry: CachedEdges): boolean {
    return entry.dirs.every((p) => this.isDirectory(p)) && entry.notDirs.every((p) => !this.isDirectory(p));
  }

  /**
   * The edges of a workspace-relative Nix file, or undefined when it is not read: missing, or not a regular
   * file inside the workspace (a FIFO would block the graph, a device never end, a symlink lead out).
   */
  readonly load = (file: string): NixEdges | undefined => {
    if (this.loaded.has(file)) return this.loaded.get(file);
    const entryKey = `${this.optionsKey}:${file}`;
    let cached = this.cache.get(entryKey);
    const nxHash = this.contentHashes.get(file);
    let key: string | undefined;
    let stat: string | null = null;
    let text: string | undefined;
    if (nxHash !== undefined) key = `nx:${nxHash}`;
    else {
      const st = statSync(join(this.workspaceRoot, file), { throwIfNoEntry: false });
      if (st?.isFile()) {
        const fingerprint = `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
        if (Math.max(st.mtimeMs, st.ctimeMs) < this.started - RACY_MS) stat = fingerprint;
        if (cached?.stat != null && cached.stat === fingerprint) key = cached.key;
        else {
          text = this.read(file).text;
          if (text !== undefined) key = hashKey(text);
        }
      }
    }
    let edges: NixEdges | undefined;
    if (key !== undefined) {
      if (!cached || cached.key !== key || !this.stillValid(cached)) {
        text ??= this.read(file).text;
        cached = text === undefined ? undefined : { ...this.resolve(file, text), key, stat };
        if (cached) this.cache.set(entryKey, cached);
      } else if (cached.stat !== stat) this.cache.set(entryKey, (cached = { ...cached, stat }));
      if (cached) {
        this.used.push(entryKey);
        edges = { files: cached.files, folders: cached.folders };
      }
    }
    this.loaded.set(file, edges);
    return edges;
  };

  private resolve(file: string, text: string): Omit<CachedEdges, 'key' | 'stat'> {
    const entry = { files: [] as string[], folders: [] as string[], dirs: [] as string[], notDirs: [] as string[] };
    const recording: FileSystemView = {
      isDirectory: (p) => {
        const rel = this.relative(p);
        const d = this.isDirectory(rel);
        (d ? entry.dirs : entry.notDirs).push(rel);
        return d;
      },
      listFiles: (p) => this.fs.listFiles(p),
    };
    for (const dep of resolveLiterals(this.workspaceRoot, file, scanPathLiterals(text), recording).dependencies)
      (dep.kind === 'file' ? entry.files : entry.folders).push(dep.path);
    return entry;
  }

  /** Files below a folder (workspace-relative), listed once per graph computation. */
  filesIn(folder: string): string[] {
    let files = this.folderFiles.get(folder);
    if (!files) {
      files = this.fs.listFiles(join(this.workspaceRoot, folder)).map((abs) => this.relative(abs));
      this.folderFiles.set(folder, files);
    }
    return files;
  }

  /** Files get small integer ids, so that closures are marks in an array rather than sets of strings. */
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly successors: ({ files: number[]; folders: string[] } | null)[] = [];
  private marks = new Uint32Array(1024);
  private epoch = 0;

  private id(file: string): number {
    let id = this.ids.get(file);
    if (id === undefined) {
      this.ids.set(file, (id = this.names.length));
      this.names.push(file);
      this.successors.push(null);
    }
    return id;
  }

  /**
   * The files (unsorted) and folders evaluation of `entries` can read, as importClosure finds them: Nix
   * files reached, directly or inside a folder, are followed. `skip` leaves out files and folders (not entries).
   */
  closure(entries: string[], skip: (path: string) => boolean = () => false): NixEdges {
    const epoch = ++this.epoch;
    const files: number[] = [];
    const folders = new Set<string>();
    const visit = (id: number) => {
      if (id >= this.marks.length) {
        const grown = new Uint32Array(Math.max(this.marks.length * 2, id + 1));
        grown.set(this.marks);
        this.marks = grown;
      }
      if (this.marks[id] === epoch) return;
      this.marks[id] = epoch;
      files.push(id);
    };
    const follow = (file: string) => {
      if (!skip(file)) visit(this.id(file));
    };
    for (const entry of entries) visit(this.id(entry));
    for (let i = 0; i < files.length; i++) {
      const file = this.names[files[i]];
      if (!file.endsWith('.nix')) continue;
      let succ = this.successors[files[i]];
      if (!succ) {
        const edges = this.load(file);
        succ = { files: edges ? edges.files.map((f) => this.id(f)) : [], folders: edges?.folders ?? [] };
        this.successors[files[i]] = succ;
      }
      for (const next of succ.files) if (!skip(this.names[next])) visit(next);
      for (const folder of succ.folders) {
        if (folders.has(folder) || skip(folder)) continue;
        folders.add(folder);
        for (const next of this.filesIn(folder)) follow(next);
      }
    }
    return { files: files.map((id) => this.names[id]), folders: [...folders] };
  }

  /** `{workspaceRoot}/<file>`, built once per file. */
  input(file: string): string {
    let input = this.inputs.get(file);
    if (input === undefined) this.inputs.set(file, (input = `{workspaceRoot}/${file}`));
    return input;
  }

  save(): void {
    this.cache.save(this.used);
  }
}
