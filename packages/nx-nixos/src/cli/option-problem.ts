import type { z } from 'zod';

const kind = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : JSON.stringify(value)?.slice(0, 80));

const article = (type: string) => (type === 'array' ? 'a list' : type === 'object' ? 'an object' : `a ${type}`);

/** `docsCheck` + ['retiredCommands', 0, 'pattern'] -> `docsCheck.retiredCommands[0].pattern`. */
const joinPath = (prefix: string, path: PropertyKey[]) =>
  path.reduce<string>((at, key) => (typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${String(key)}` : String(key)), prefix);

/** Why `value` does not fit the options schema, with the path of the first wrong part, or undefined when it fits. */
export function optionProblem(schema: z.ZodType, value: unknown, prefix: string): { path: string; reason: string } | undefined {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  const at = joinPath(prefix, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return { path: joinPath(prefix, issue.path.slice(0, -1)), reason: `"${String(issue.path.at(-1))}" is missing` };
      return { path: at, reason: `expected ${article(issue.expected)}, got ${kind(issue.input)}` };
    case 'invalid_value':
      return { path: at, reason: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${kind(issue.input)}` };
    case 'unrecognized_keys': {
      const known = Object.keys((issue.path.length ? {} : (schema as unknown as { shape?: object }).shape) ?? {});
      return { path: joinPath(prefix, [...issue.path, issue.keys[0]]), reason: `unknown option${known.length ? ` (known: ${known.join(', ')})` : ''}` };
    }
    default:
      return { path: at, reason: issue.message };
  }
}
