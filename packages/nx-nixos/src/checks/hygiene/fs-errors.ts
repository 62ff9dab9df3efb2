import { OutsideWorkspaceError, readWorkspaceFile } from '../../fs/read-inside';

const READ_HINTS: Record<string, string> = {
  EACCES: 'permission denied (EACCES); make it readable (chmod u+r) or run as its owner',
  EPERM: 'operation not permitted (EPERM); make it readable or run as its owner',
  ELOOP: 'too many levels of symbolic links (ELOOP)',
  EISDIR: 'is a folder (EISDIR); name a file',
  ENOTDIR: 'a part of the path is not a folder (ENOTDIR)',
  ENOENT: 'does not exist (ENOENT)',
  EIO: 'input/output error (EIO); check the disk',
};

const WRITE_HINTS: Record<string, string> = {
  EACCES: 'permission denied (EACCES); choose a path you can write to, or fix the permissions of its folder',
  EPERM: 'operation not permitted (EPERM); choose a path you can write to, or fix the permissions of its folder',
  EROFS: 'the file system is read-only (EROFS); choose a path on a writable file system',
  ENOSPC: 'no space left on the device (ENOSPC); free some space',
  EDQUOT: 'disk quota exceeded (EDQUOT); free some space',
  ENOTDIR: 'a part of the path is a file, not a folder (ENOTDIR); choose another path',
  EISDIR: 'is a folder (EISDIR); give a file path',
  EEXIST: 'a part of the path exists and is not a folder (EEXIST); choose another path',
};

/**
 * One sentence for a file system error: the path as the user named it, what went wrong in words, and
 * what to do. `action` is the verb phrase, e.g. "read" or "write the report to".
 */
export function describeFsError(error: unknown, path: string, action: string): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  const hints = action === 'read' ? READ_HINTS : WRITE_HINTS;
  const reason = (code && hints[code]) ?? (code ? `failed (${code})` : String((error as Error)?.message ?? error));
  return `cannot ${action} ${path}: ${reason}.`;
}

/**
 * A workspace file read as readWorkspaceFile reads it (symlinks resolved, inside the root, regular
 * files only, size-capped), with every failure turned into one message that names the file and never
 * quotes its content.
 */
export function readInsideWorkspace(root: string, file: string, maxBytes: number): string | undefined {
  try {
    return readWorkspaceFile(root, file, { missing: 'undefined', maxBytes });
  } catch (e) {
    if (e instanceof OutsideWorkspaceError) throw e;
    throw new Error(describeFsError(e, file, 'read'), { cause: e });
  }
}
