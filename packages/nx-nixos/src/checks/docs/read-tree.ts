import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** A file's text and where it really is, or why it was not read. */
export type TreeFile = { text: string; real: string; problem?: undefined } | { text?: undefined; problem: string; missing?: boolean };

// O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
export const MAX_DOC_BYTES = 16 * 1024 * 1024;

/** Whether a path relative to a root (as path.relative gives it) leaves the root; `..notes.md` does not. */
export const leaves = (rel: string) => rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);

const kindOf = (stat: Stats) =>
  stat.isDirectory() ? 'a folder' : stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device' : 'not a file';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/**
 * Reads files of the tree at `root` (workspace-relative paths) only when they are regular files inside it:
 * a symlink is followed only while it stays in the tree, and FIFOs and devices are never read, so a file
 * can neither leak content from elsewhere, block forever nor never end. Folders are resolved once each.
 */
export class TreeReader {
  readonly root: string;
  private readonly folders = new Map<string, string | { problem: string; missing?: boolean }>();

  /** `tree`: what messages call the root, e.g. "the repository". */
  constructor(
    root: string,
    private readonly tree = 'the repository',
  ) {
    this.root = realpathSync.native(root);
  }

  inside(real: string): boolean {
    return !leaves(relative(this.root, real));
  }

  /** The real path of a folder of the tree, or why it is not one. */
  private folder(dir: string): string | { problem: string; missing?: boolean } {
    let real = this.folders.get(dir);
    if (real === undefined) {
      try {
        const resolved = dir === '' ? this.root : realpathSync.native(`${this.root}/${dir}`);
        real = this.inside(resolved) ? resolved : { problem: `is in a folder that leads outside ${this.tree} (a symlink)` };
      } catch (e) {
        const missing = code(e) === 'ENOENT' || code(e) === 'ENOTDIR';
        real = missing ? { problem: 'does not exist', missing } : { problem: `is in a folder that cannot be read (${code(e)})` };
      }
      this.folders.set(dir, real);
    }
    return real;
  }

  /** `file`: relative to the root (or absolute, inside it). */
  read(file: string, maxBytes = MAX_DOC_BYTES): TreeFile {
    // Paths as Git lists them need no normalising; anything else is resolved against the root first.
    let rel = file;
    if (file === '' || file[0] === '/' || file.includes('..') || file.includes('./') || file.includes('//') || file.includes('\\')) {
      rel = relative(this.root, resolve(this.root, file)).split(sep).join('/');
      if (leaves(rel) || rel === '') return { problem: `is not inside ${this.tree}` };
    }
    const slash = rel.lastIndexOf('/');
    const dir = this.folder(slash === -1 ? '' : rel.slice(0, slash));
    if (typeof dir !== 'string') return dir;
    let path = `${dir}/${rel.slice(slash + 1)}`;
    let fd: number;
    try {
      fd = openSync(path, OPEN_FLAGS);
    } catch (e) {
      if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return { problem: 'does not exist', missing: true };
      if (code(e) !== 'ELOOP') return { problem: `cannot be read (${code(e)})` };
      try {
        path = realpathSync.native(path);
      } catch {
        return { problem: 'is a symlink to nothing' };
      }
      if (!this.inside(path)) return { problem: `is a symlink that leads outside ${this.tree}` };
      try {
        fd = openSync(path, OPEN_FLAGS);
      } catch (e2) {
        return { problem: `cannot be read (${code(e2)})` };
      }
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return { problem: `is not a regular file (${kindOf(stat)})` };
      if (stat.size > maxBytes) return { problem: `is larger than ${maxBytes} bytes` };
      const buffer = Buffer.allocUnsafe(stat.size);
      let length = 0;
      while (length < buffer.length) {
        const n = readSync(fd, buffer, length, buffer.length - length, length);
        if (n === 0) break;
        length += n;
      }
      return { text: buffer.toString('utf8', 0, length), real: path };
    } catch (e) {
      return { problem: `cannot be read (${code(e)})` };
    } finally {
      closeSync(fd);
    }
  }
}
