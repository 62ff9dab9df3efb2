import { execFileSync } from 'node:child_process';

/** Every git command of the plugin runs here. Returns stdout; throws with git's message on failure. */
export function git(root: string, args: readonly string[]): string {
  try {
    return execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      maxBuffer: 512 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const error = e as NodeJS.ErrnoException & { stderr?: string };
    if (error.code === 'ENOENT') throw new Error('git was not found on PATH; install git.', { cause: e });
    throw new Error(`git ${args.join(' ')} failed: ${String(error.stderr ?? error.message).trim()}`, { cause: e });
  }
}

const splitZ = (out: string) => out.split('\0').filter(Boolean);

export function isGitRepository(root: string): boolean {
  try {
    return git(root, ['rev-parse', '--is-inside-work-tree']).trim() === 'true';
  } catch {
    return false;
  }
}

/** Files Git tracks, relative to `root` (deleted ones excluded). */
export function trackedFiles(root: string, paths: readonly string[] = []): string[] {
  const deleted = new Set(splitZ(git(root, ['ls-files', '-z', '--deleted', '--', ...paths])));
  return splitZ(git(root, ['ls-files', '-z', '--cached', '--', ...paths])).filter((f) => !deleted.has(f));
}

/** Files Git does not track and does not ignore: a flake cannot see them. */
export function untrackedFiles(root: string, paths: readonly string[] = []): string[] {
  return splitZ(git(root, ['ls-files', '-z', '--others', '--exclude-standard', '--', ...paths]));
}

/** Files Git ignores (build outputs, stray images), as paths relative to `root`. */
export function ignoredFiles(root: string, paths: readonly string[] = []): string[] {
  return splitZ(git(root, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--', ...paths]));
}
