import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { CreateDependencies, CreateDependenciesContext, DependencyType, RawProjectGraphDependency } from '@nx/devkit';
import { Closure, diskView, FileImports, FileSystemView, importClosure, PathLiteral, resolveLiterals, scanPathLiterals } from '../nix/imports';
import { hashKey, InferenceCache } from './cache';
import { resolveOptions, type NixosPluginOptions, type ResolvedPluginOptions } from './options';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const PLUGIN_VERSION: string = require('../../package.json').version;

/** Workspace-relative glob (`**`, `*`, `?`, `{a,b}`) as a regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') re += '(?:';
    else if (c === '}') re += ')';
    else if (c === ',') re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The project root of a Nix module file, or undefined when no module glob matches it. */
export function nixModuleRoot(file: string, options: ResolvedPluginOptions): string | undefined {
  return options.nixModuleGlobs.some((g) => globToRegExp(g).test(file)) ? dirname(file) : undefined;
}

/** `infra/nixos/modules/services/gitlab` -> `nix-modules-services-gitlab` (relative to nixModulesBase). */
export function nixModuleProjectName(root: string, options: ResolvedPluginOptions): string {
  const rel = posix.relative(options.nixModulesBase, root);
  const parts = rel && !rel.startsWith('..') ? rel : root;
  return ['nix', ...parts.split('/').filter((p) => p && p !== '.')].join('-');
}

/**
 * Parsed Nix files of one graph computation. Token lists are cached by content hash, options and plugin
 * version; resolution (which asks whether a path is a folder) is redone each time, since it is cheap and
 * depends on the disk, not on the file's content.
 */
export class NixImportIndex {
  private readonly cache: InferenceCache<PathLiteral[]>;
  private readonly optionsKey: string;
  private readonly loaded = new Map<string, FileImports | undefined>();
  private readonly used: string[] = [];
  /** The flake's own closure, the same for every profile: computed once per graph computation. */
  flakeClosure: Closure | undefined;

  /** Folder questions asked once per graph computation. */
  readonly fs: FileSystemView;

  /** `purpose` names the cache file: createNodes and createDependencies each keep the entries they use. */
  constructor(
    private readonly workspaceRoot: string,
    options: ResolvedPluginOptions,
    purpose: 'nodes' | 'dependencies' = 'nodes',
  ) {
    this.cache = new InferenceCache<PathLiteral[]>(workspaceRoot, `nx-nixos-nix-imports-${purpose}`);
    const isDir = new Map<string, boolean>();
    const listed = new Map<string, string[]>();
    this.fs = {
      isDirectory: (p) => {
        let d = isDir.get(p);
        if (d === undefined) isDir.set(p, (d = diskView.isDirectory(p)));
        return d;
      },
      listFiles: (p) => {
        let l = listed.get(p);
        if (!l) listed.set(p, (l = diskView.listFiles(p)));
        return l;
      },
    };
    this.optionsKey = hashKey(PLUGIN_VERSION, JSON.stringify(options));
  }

  readonly load = (file: string): FileImports | undefined => {
    if (this.loaded.has(file)) return this.loaded.get(file);
    let imports: FileImports | undefined;
    let bytes: Buffer | undefined;
    try {
      bytes = readFileSync(join(this.workspaceRoot, file));
    } catch {
      bytes = undefined; // missing, or a folder: nothing to parse
    }
    if (bytes) {
      const key = hashKey(this.optionsKey, file, bytes);
      this.used.push(key);
      let literals = this.cache.get(key);
      if (!literals) {
        literals = scanPathLiterals(bytes.toString('utf8'));
        this.cache.set(key, literals);
      }
      imports = resolveLiterals(this.workspaceRoot, file, literals, this.fs);
    }
    this.loaded.set(file, imports);
    return imports;
  };

  save(): void {
    this.cache.save(this.used);
  }
}

/**
 * Files a profile's image and tests can read: the closure of its profile.nix and of flake.nix, except that
 * the flake's listing of the profiles folder brings in only this profile. Folders become `/**` globs.
 */
export function profileNixInputs(index: NixImportIndex, workspaceRoot: string, profileRoot: string, options: ResolvedPluginOptions): string[] {
  const own = importClosure(workspaceRoot, [`${profileRoot}/profile.nix`], index.load, index.fs);
  const flake = index.flakeClosure ??= importClosure(workspaceRoot, ['flake.nix'], (file) => {
    const imports = index.load(file);
    if (!imports) return imports;
    const profiles = options.profilesDir;
    const dependencies = imports.dependencies.filter((d) => !(d.kind === 'folder' && (d.path === profiles || d.path.startsWith(`${profiles}/`))));
    return { ...imports, dependencies };
  }, index.fs);
  const inputs = new Set<string>();
  for (const closure of [own, flake]) {
    for (const folder of closure.folders) inputs.add(`{workspaceRoot}/${folder === '.' ? '' : `${folder}/`}**/*`);
    for (const file of closure.files) if (!closure.folders.some((f) => f === '.' || file.startsWith(`${f}/`))) inputs.add(`{workspaceRoot}/${file}`);
  }
  return [...inputs].sort();
}

/**
 * Static edges between projects from the Nix import graph: a project whose Nix file names a file (or a
 * folder) of another project depends on it, with the Nix file as sourceFile. Edges into the workspace-root
 * project are left out: it owns every loose file, so such an edge would make every change affect the importer.
 */
export const createDependencies: CreateDependencies<NixosPluginOptions> = (rawOptions, context) => nixDependencies(resolveOptions(rawOptions), context);

export function nixDependencies(options: ResolvedPluginOptions, context: CreateDependenciesContext): RawProjectGraphDependency[] {
  const owner = new Map<string, string>();
  const nixFiles: Array<[string, string]> = [];
  for (const [project, files] of Object.entries(context.fileMap.projectFileMap)) {
    for (const f of files) {
      owner.set(f.file, project);
      if (f.file.endsWith('.nix')) nixFiles.push([project, f.file]);
    }
  }
  const rootProjects = new Set(Object.entries(context.projects).filter(([, p]) => p.root === '.' || p.root === '').map(([name]) => name));
  const index = new NixImportIndex(context.workspaceRoot, options, 'dependencies');
  const edges = new Map<string, RawProjectGraphDependency>();
  const addEdge = (source: string, sourceFile: string, targetFile: string) => {
    const target = owner.get(targetFile);
    if (!target || target === source || rootProjects.has(target)) return;
    const key = `${source}\0${target}\0${sourceFile}`;
    if (!edges.has(key)) edges.set(key, { source, target, sourceFile, type: 'static' as DependencyType.static });
  };
  for (const [project, file] of nixFiles) {
    if (rootProjects.has(project)) continue;
    const imports = index.load(file);
    if (!imports) continue;
    for (const dep of imports.dependencies) {
      if (dep.kind === 'file') addEdge(project, file, dep.path);
      else for (const abs of index.fs.listFiles(join(context.workspaceRoot, dep.path))) addEdge(project, file, posix.relative(context.workspaceRoot.split('\\').join('/'), abs.split('\\').join('/')));
    }
  }
  index.save();
  return [...edges.values()];
}
