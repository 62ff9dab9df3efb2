import { TreeReader } from '../../checks/docs/read-tree';

/** A Nix file's text, or why it was not read. */
export type NixSource = { text: string; problem?: undefined } | { text?: undefined; problem: string; missing?: boolean };

/** Nix files larger than this are not scanned: no module is that large, and a graph computation must stay quick. */
export const MAX_NIX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads workspace-relative Nix files only when they are regular files inside the workspace, with symlinks
 * resolved: never a FIFO or a device (which would block or never end), never a file a symlink leads to
 * outside the workspace. One reader per workspace: folders are resolved once each.
 */
export function nixSourceReader(root: string): (file: string) => NixSource {
  let reader: TreeReader | undefined;
  return (file) => {
    reader ??= new TreeReader(root, 'the workspace');
    const read = reader.read(file, MAX_NIX_FILE_BYTES);
    return read.text !== undefined ? { text: read.text } : read;
  };
}
