import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AllowlistEntry } from './allowlist';

const entrySchema = z.object({
  rule: z.string().min(1),
  path: z.string().min(1),
  hash: z.string().regex(/^([0-9a-f]{16}|\*)$/, 'a 16-hex-digit content hash (from json output) or "*"'),
  reason: z.string().min(1, 'say why the finding is accepted'),
});
const fileSchema = z.array(entrySchema);

/**
 * Reads an allowlist file: a JSON array of { rule, path, hash, reason }, or { "allowlist": [...] }.
 * Throws with the file, the entry and the reason when it is malformed.
 */
export function loadAllowlistFile(file: string): AllowlistEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the allowlist: ${(e as Error).message}`);
  }
  const list = data !== null && typeof data === 'object' && !Array.isArray(data) && 'allowlist' in data ? data.allowlist : data;
  const parsed = fileSchema.safeParse(list);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}. Expected an array of { "rule", "path", "hash", "reason" }.`);
  }
  return parsed.data;
}
