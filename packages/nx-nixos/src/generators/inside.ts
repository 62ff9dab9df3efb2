import type { Tree } from '@nx/devkit';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

/** A generator refuses to run: says why and what to do, and nothing is written. */
export class GeneratorInputError extends Error {}

const leaves = (rel: string) => rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);

/** The workspace root as it really is on disk, or undefined for a tree that only lives in memory (tests). */
function realRoot(tree: Tree): string | undefined {
  try {
    return realpathSync.native(tree.root);
  } catch {
    return undefined;
  }
}

/** Throws unless `path` is a plain workspace-relative path that stays inside it (no "..", not absolute). */
export function assertRelativeInside(path: string, what: string): void {
  const rel = relative('/w', join('/w', path));
  if (isAbsolute(path) || path.includes('\\') || leaves(rel) || rel === '')
    throw new GeneratorInputError(`${what} "${path}" is not inside the workspace; name it relative to the workspace root, without "..".`);
}

/**
 * Throws unless writing `path` (workspace-relative) stays inside the workspace on disk: the nearest part
 * of it that exists must resolve, symlinks followed, to a place inside the workspace. A symlinked folder
 * on the way would otherwise carry the written files out of it.
 */
export function assertWritableInside(tree: Tree, path: string, what: string): void {
  assertRelativeInside(path, what);
  const root = realRoot(tree);
  if (root === undefined) return;
  let existing = join(tree.root, path);
  while (!lstatSync(existing, { throwIfNoEntry: false })) existing = dirname(existing);
  let real: string;
  try {
    real = realpathSync.native(existing);
  } catch {
    throw new GeneratorInputError(`${what} ${path}: ${relative(tree.root, existing)} is a symlink to nothing; remove it or point it inside the workspace.`);
  }
  if (leaves(relative(root, real)))
    throw new GeneratorInputError(`${what} ${path}: ${relative(tree.root, existing) || '.'} leads outside the workspace (a symlink); nothing was written. Replace the symlink with a folder inside the workspace.`);
}

/**
 * Throws unless `path` may be read: a file this generator run wrote, or on disk a regular file whose real
 * path (symlinks followed) is inside the workspace. Never a FIFO or device, which would block or never end.
 */
export function assertReadableInside(tree: Tree, path: string, what: string): void {
  assertRelativeInside(path, what);
  if (tree.listChanges().some((change) => change.path === path && change.type !== 'DELETE')) return;
  const root = realRoot(tree);
  if (root === undefined) return;
  let real: string;
  try {
    real = realpathSync.native(join(tree.root, path));
  } catch {
    throw new GeneratorInputError(`${what} ${path} cannot be read (a symlink to nothing?); nothing was written.`);
  }
  if (leaves(relative(root, real)))
    throw new GeneratorInputError(`${what} ${path} is a symlink that leads outside the workspace; nothing was written. Copy the file into the workspace, or leave it out.`);
  if (!statSync(real).isFile()) throw new GeneratorInputError(`${what} ${path} is not a regular file (a FIFO or a device); nothing was written.`);
}

/** Workspace-relative files under `dir` (iterative; skips node_modules, .git, .nx and symlinked folders). */
export function treeFiles(tree: Tree, dir: string): string[] {
  const out: string[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const child of tree.children(current)) {
      if (child === 'node_modules' || child === '.git' || child === '.nx') continue;
      const path = current ? `${current}/${child}` : child;
      if (tree.isFile(path)) out.push(path);
      else if (!lstatSync(join(tree.root, path), { throwIfNoEntry: false })?.isSymbolicLink()) pending.push(path);
    }
  }
  return out.sort();
}
