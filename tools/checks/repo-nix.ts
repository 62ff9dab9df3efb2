import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackedFiles, untrackedFiles } from '../../packages/nx-nixos/src/git/git';

export const REPO_ROOT = join(__dirname, '..', '..');

/** The repository's .nix files (tracked, plus new ones Git does not ignore), relative to the root. */
export function repoNixFiles(root = REPO_ROOT): string[] {
  return [...new Set([...trackedFiles(root, ['*.nix']), ...untrackedFiles(root, ['*.nix'])])].sort();
}

/** Profile folder names: profiles/<name>/profile.json. */
export function repoProfiles(root = REPO_ROOT): string[] {
  const files = [...trackedFiles(root, ['profiles/*/profile.json']), ...untrackedFiles(root, ['profiles/*/profile.json'])];
  return [...new Set(files.map((f) => f.split('/')[1]))].sort();
}

export const readRepoFile = (path: string, root = REPO_ROOT) => readFileSync(join(root, path), 'utf8');
