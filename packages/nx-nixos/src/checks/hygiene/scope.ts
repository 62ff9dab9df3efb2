import { glob, globBase, isGlob } from '../../glob/glob';
import { shellQuote } from './text';

const WORKSPACE = '{workspaceRoot}/';

/**
 * Workspace-relative globs of the `{workspaceRoot}/...` file inputs among Nx inputs: a profile's static
 * Nix closure as graph inference computed it (files, and `folder/**\/*` for folders read whole).
 */
export function workspaceGlobs(inputs: ReadonlyArray<string | object>): string[] {
  return inputs.flatMap((input) => (typeof input === 'string' && input.startsWith(WORKSPACE) ? [input.slice(WORKSPACE.length)] : []));
}

/** Whether Git's `:(glob)` reads a glob as the plugin does: plain paths, `*`, `?` and `**` (no braces, brackets or extglobs). */
const gitReadsAlike = (pattern: string) => !/[[\]{}()!@+|"\\]/.test(pattern);

/**
 * Git pathspecs of scope "profile": everything under the profile folder, and the globs it reads. A
 * glob Git would read otherwise is given as its base folder, and profileScope keeps what it matches.
 */
export function profilePathspecs(profileRoot: string, profilePaths: readonly string[]): string[] {
  const spec = (p: string) => (gitReadsAlike(p) ? p : globBase(p) === '' ? '**' : `${globBase(p)}/**`);
  return [`:(glob)${profileRoot}/**`, ...profilePaths.map((p) => `:(glob)${spec(p)}`)];
}

/** Whether a listed file is in scope "profile": under the profile folder, matched by a glob, or under a plain folder path (as Git reads one). */
export function profileScope(profileRoot: string, profilePaths: readonly string[]): (file: string) => boolean {
  const globs = profilePaths.filter(isGlob).map(glob);
  const plain = profilePaths.filter((p) => !isGlob(p));
  const exact = new Set(plain);
  const folders = [`${profileRoot}/`, ...plain.map((p) => `${p}/`)];
  return (file) => exact.has(file) || folders.some((f) => file.startsWith(f)) || globs.some((g) => g.test(file));
}

/**
 * An Nx runtime input: Git's index entries (mode, blob, path) of a scope. Hygiene reports a file by
 * whether Git tracks it and asks the index for LFS blobs, so `git add` of an unchanged file must
 * change the hash: otherwise a cached clean result would hide a newly committed image.
 */
export function indexStateInput(pathspecs: readonly string[]): { runtime: string } {
  return { runtime: `git ls-files --stage -- ${pathspecs.map(shellQuote).join(' ')} 2>/dev/null || echo not-a-git-tree` };
}
