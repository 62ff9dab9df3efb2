import { shellQuote } from './text';

const WORKSPACE = '{workspaceRoot}/';

/**
 * Workspace-relative globs of the `{workspaceRoot}/...` file inputs among Nx inputs: a profile's static
 * Nix closure as graph inference computed it (files, and `folder/**\/*` for folders read whole).
 */
export function workspaceGlobs(inputs: ReadonlyArray<string | object>): string[] {
  return inputs.flatMap((input) => (typeof input === 'string' && input.startsWith(WORKSPACE) ? [input.slice(WORKSPACE.length)] : []));
}

/** Git pathspecs of scope "profile": everything under the profile folder, and the globs it reads. */
export function profilePathspecs(profileRoot: string, profilePaths: readonly string[]): string[] {
  return [`:(glob)${profileRoot}/**`, ...profilePaths.map((p) => `:(glob)${p}`)];
}

/**
 * An Nx runtime input: Git's index entries (mode, blob, path) of a scope. Hygiene reports a file by
 * whether Git tracks it and asks the index for LFS blobs, so `git add` of an unchanged file must
 * change the hash: otherwise a cached clean result would hide a newly committed image.
 */
export function indexStateInput(pathspecs: readonly string[]): { runtime: string } {
  return { runtime: `git ls-files --stage -- ${pathspecs.map(shellQuote).join(' ')} 2>/dev/null || echo not-a-git-tree` };
}
