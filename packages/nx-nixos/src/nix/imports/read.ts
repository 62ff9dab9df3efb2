import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { OutsideWorkspaceError, readWorkspaceFile } from '../../fs/read-inside';

/** A Nix file's text, or why it was not read. */
export type NixSource = { text: string; problem?: undefined } | { text?: undefined; problem: string; missing?: boolean };

/** Nix files larger than this are not scanned: no module is that large, and a graph computation must stay quick. */
export const MAX_NIX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a workspace-relative Nix file only when it is a regular file inside the workspace, with symlinks
 * resolved: never a FIFO or a device (which would block or never end), never a file a symlink leads to
 * outside the workspace.
 */
export function readNixSource(root: string, file: string): NixSource {
  try {
    // One lstat settles the common case of a dependency that does not exist.
    const link = lstatSync(join(root, file), { throwIfNoEntry: false });
    if (!link) return { problem: 'does not exist', missing: true };
    const text = readWorkspaceFile(root, file, { missing: 'undefined', maxBytes: MAX_NIX_FILE_BYTES });
    if (text !== undefined) return { text };
    return link.isSymbolicLink() ? { problem: 'is a symlink to nothing' } : { problem: 'does not exist', missing: true };
  } catch (e) {
    if (e instanceof OutsideWorkspaceError) return { problem: e.message.slice(file.length + 2).replace(/; only regular files .*$/, '') };
    return { problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}
