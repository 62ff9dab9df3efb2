import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { testEnv } from './workspace';

/** The first bytes of a qcow2 image: what the image rules recognise. */
export const QCOW2_HEADER = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(504)]);

export interface GitRepo {
  root: string;
  /** Runs git in the repository; throws with git's stderr when it fails. */
  git(...args: string[]): string;
  /** Writes a file (folders created), relative to the root. */
  write(path: string, content: string | Buffer): void;
  cleanup(): void;
}

/** A temporary Git repository whose first commit holds `files`. */
export function makeGitRepo(files: Record<string, string | Buffer> = {}, prefix = 'git-repo-'): GitRepo {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', env: testEnv() });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const write = (path: string, content: string | Buffer) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  for (const [path, content] of Object.entries(files)) write(path, content);
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'fixture', '--allow-empty');
  return { root, git, write, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
