import { RE2JS } from 're2js';

/**
 * Patterns that come from the repository (.sops.yaml path_regex, a SOPS file's own encrypted_regex;
 * globs too, see src/glob) run on RE2 (re2js: pure JavaScript, linear time), never on V8's
 * backtracking engine, where one crafted pattern can take minutes. RE2 is also the syntax sops itself
 * uses (Go's regexp), so a pattern sops accepts means the same here.
 */
export interface LinearPattern {
  test(input: string): boolean;
}

/** Compiles an RE2 regular expression; throws with RE2's reason (e.g. "missing closing ]"), without the pattern's text. */
export function compileRegex(source: string): RE2JS {
  try {
    return RE2JS.compile(source);
  } catch (e) {
    throw new Error(String((e as Error).message).replace(/^error parsing regexp: /, '').replace(/: `[\s\S]*`$/, ''), { cause: e });
  }
}
