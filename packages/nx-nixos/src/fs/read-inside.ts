import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export class OutsideWorkspaceError extends Error {
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}; only regular files inside the workspace are read.`);
    this.name = 'OutsideWorkspaceError';
  }
}

const inside = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * Reads a workspace file named relative to the root: the path, with every symlink resolved, must stay
 * inside the root and name a regular file (never a FIFO or a device), of at most `maxBytes`.
 */
export function readWorkspaceFile(
  workspaceRoot: string,
  file: string,
  options: { missing?: 'throw' | 'undefined'; maxBytes?: number } = {},
): string | undefined {
  const root = realpathSync(workspaceRoot);
  let real: string;
  try {
    real = realpathSync(resolve(root, file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && options.missing === 'undefined') return undefined;
    throw new OutsideWorkspaceError(file, `cannot be resolved (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!inside(root, real)) throw new OutsideWorkspaceError(file, 'leads outside the workspace');
  const text = readRegularFile(real, options.maxBytes ?? 16 * 1024 * 1024);
  if (typeof text !== 'string') throw new OutsideWorkspaceError(file, text.problem);
  return text;
}

/**
 * A file's text when it is a regular file of at most `maxBytes` (opened without blocking on a FIFO, and
 * without following a final symlink unless `followLink`); otherwise what it is instead.
 */
export function readRegularFile(path: string, maxBytes: number, followLink = false): string | { problem: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (followLink ? 0 : constants.O_NOFOLLOW));
  } catch (e) {
    return { problem: `cannot be opened (${(e as NodeJS.ErrnoException).code})` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { problem: 'is not a regular file' };
    if (stat.size > maxBytes) return { problem: `is larger than ${maxBytes} bytes` };
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
