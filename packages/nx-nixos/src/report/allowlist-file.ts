import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { z } from 'zod';
import type { AllowlistEntry } from './allowlist';
import { parseJsonQuietly } from './json-syntax';

const entrySchema = z.object({
  rule: z.string().min(1),
  path: z.string().min(1),
  hash: z.string().regex(/^([0-9a-f]{16}|\*)$/, 'a 16-hex-digit content hash (from json output) or "*"'),
  reason: z.string().min(1, 'say why the finding is accepted'),
});
const fileSchema = z.array(entrySchema);

/** An allowlist is a few hundred entries at most; anything far larger is not one. */
export const MAX_ALLOWLIST_BYTES = 4 * 1024 * 1024;

/**
 * Parses allowlist text: a JSON array of { rule, path, hash, reason }, or { "allowlist": [...] }.
 * Throws with `where`, the entry and the reason when it is malformed, never quoting the text.
 */
export function parseAllowlist(text: string, where: string): AllowlistEntry[] {
  const data = parseJsonQuietly(text, where);
  const list = data !== null && typeof data === 'object' && !Array.isArray(data) && 'allowlist' in data ? data.allowlist : data;
  const parsed = fileSchema.safeParse(list);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}. Expected an array of { "rule", "path", "hash", "reason" }.`);
  }
  return parsed.data;
}

/**
 * Reads an allowlist file (a regular file: never a FIFO or a device) and parses it with parseAllowlist.
 * Callers that know the workspace root should read the file with fs/read-inside and call
 * parseAllowlist, so that a symlink cannot lead out of the workspace.
 */
export function loadAllowlistFile(file: string): AllowlistEntry[] {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('is not a regular file');
    if (stat.size > MAX_ALLOWLIST_BYTES) throw new Error(`is larger than ${MAX_ALLOWLIST_BYTES} bytes`);
    const buffer = Buffer.alloc(stat.size);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) break;
      length += n;
    }
    text = buffer.toString('utf8', 0, length);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read the allowlist: ${code ? `${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied; make it readable' : code} (${code})` : (e as Error).message}.`, { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parseAllowlist(text, file);
}
