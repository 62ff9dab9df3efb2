import type { AllowlistEntry } from '../../report/allowlist';
import type { TreeReader } from './read-tree';

/**
 * Reads the allowlist named relative to the tree's root: a regular file inside the tree, never through a
 * symlink that leads out of it. Errors name the file and the reason and never quote its text.
 */
export async function loadAllowlist(reader: TreeReader, file: string): Promise<AllowlistEntry[]> {
  // zod (the allowlist schema) costs startup time; it loads only when there is an allowlist.
  const { MAX_ALLOWLIST_BYTES, parseAllowlist } = await import('../../report/allowlist-file');
  const read = reader.read(file, MAX_ALLOWLIST_BYTES);
  if (read.text === undefined)
    throw new Error(`${file}: cannot read the allowlist: it ${read.problem}. The allowlist is a JSON file inside the repository, named relative to its root.`);
  return parseAllowlist(read.text, file);
}
