import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { z } from 'zod';
import { profileSchema, type Profile } from './schema';

/** Bad profile metadata: carries the file, the JSON path and the reason. */
export class ProfileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: { path: string; reason: string }[],
  ) {
    super(
      `Invalid profile ${file}:\n` +
        problems.map((p) => `  - ${p.path}: ${p.reason}`).join('\n') +
        `\nFix the file (its JSON Schema is referenced by "$schema") and run the command again.`,
    );
    this.name = 'ProfileError';
  }
}

function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), '$');
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): { path: string; reason: string }[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys')
      return { path: jsonPath(issue.path), reason: `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` };
    return { path: jsonPath(issue.path), reason: issue.message };
  });
}

/**
 * Parses profile.json text. `file` is the workspace-relative path used in messages;
 * the folder name must equal the profile name.
 */
export function parseProfile(text: string, file: string): Profile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(file, [{ path: '$', reason: `not valid JSON (${(e as Error).message})` }]);
  }
  const result = profileSchema.safeParse(raw);
  if (!result.success) throw new ProfileError(file, describeIssues(result.error.issues));
  const folder = basename(dirname(file));
  if (result.data.name !== folder)
    throw new ProfileError(file, [
      { path: '$.name', reason: `is "${result.data.name}" but the folder is "${folder}"; they must be equal` },
    ]);
  return result.data;
}

export function loadProfile(absolutePath: string, displayPath = absolutePath): Profile {
  return parseProfile(readFileSync(absolutePath, 'utf8'), displayPath);
}
