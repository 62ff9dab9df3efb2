import { posix } from 'node:path';
import type { CreateDependencies, CreateDependenciesContext, DependencyType, RawProjectGraphDependency } from '@nx/devkit';
import { NixImportIndex } from './nix-index';
import { featureOfModuleRoot, resolveOptions, type NixosPluginOptions, type ResolvedPluginOptions } from './options';

/**
 * Static edges between projects from the Nix import graph: a project whose Nix file names a file (or a
 * folder) of another project depends on it, with the Nix file as sourceFile. Edges into the workspace-root
 * project are left out: it owns every loose file, so such an edge would make every change affect the importer.
 * So are edges into feature modules (option featureModules): profiles depend on those they turn on; and
 * edges from a module into a profile.
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
  // A profile is a leaf: a harness that reads every profile (the flake's tests) is evaluated per profile, and
  // what it reads of one profile is in that profile's own inputs.
  const profileProjects = new Set(Object.entries(context.projects).filter(([, p]) => posix.dirname(p.root) === options.profilesDir).map(([name]) => name));
  // A feature module is reached only through the profiles that turn it on (their implicitDependencies).
  const featureProjects = new Set(Object.entries(context.projects).filter(([, p]) => featureOfModuleRoot(options, p.root) !== undefined).map(([name]) => name));
  const hashes = new Map<string, string>();
  for (const files of Object.values(context.fileMap.projectFileMap)) for (const f of files) if (f.hash) hashes.set(f.file, f.hash);
  for (const f of context.fileMap.nonProjectFiles) if (f.hash) hashes.set(f.file, f.hash);
  const known = new Set<string>(owner.keys());
  for (const f of context.fileMap.nonProjectFiles) known.add(f.file);
  const index = new NixImportIndex(context.workspaceRoot, options, { purpose: 'dependencies', knownFiles: known, contentHashes: hashes });
  const edges = new Map<string, RawProjectGraphDependency>();
  const addEdge = (source: string, sourceFile: string, targetFile: string) => {
    const target = owner.get(targetFile);
    if (!target || target === source || rootProjects.has(target) || featureProjects.has(target)) return;
    if (profileProjects.has(target) && !profileProjects.has(source)) return;
    const key = `${source}\0${target}\0${sourceFile}`;
    if (!edges.has(key)) edges.set(key, { source, target, sourceFile, type: 'static' as DependencyType.static });
  };
  for (const [project, file] of nixFiles) {
    if (rootProjects.has(project)) continue;
    const edges = index.load(file);
    if (!edges) continue;
    for (const target of edges.files) addEdge(project, file, target);
    for (const folder of edges.folders) for (const target of index.filesIn(folder)) addEdge(project, file, target);
  }
  index.save();
  return [...edges.values()];
}
