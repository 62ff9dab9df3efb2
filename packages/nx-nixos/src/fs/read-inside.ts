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
  const fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new OutsideWorkspaceError(file, 'is not a regular file');
    const max = options.maxBytes ?? 16 * 1024 * 1024;
    if (stat.size > max) throw new OutsideWorkspaceError(file, `is larger than ${max} bytes`);
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
