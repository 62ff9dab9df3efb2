import type picomatch from 'picomatch';
import type { RE2JS } from 're2js';

/**
 * The one glob dialect of the plugin: picomatch's, over workspace-relative paths with `/` (see
 * docs/reference/globs.md). Globs come from the repository, so they never run on V8's backtracking
 * engine, where `*a*a*a*a*b` takes minutes on a long name: picomatch turns the glob into a regular
 * expression and RE2 (re2js, linear time) runs it.
 *
 * picomatch guards `.` and `..` segments, empty segments and a trailing `/` with lookaheads, which RE2
 * does not have. The paths matched here are normalised (no such segments, no leading or trailing `/`),
 * where those lookaheads always hold, so they are dropped; glob.spec.ts checks the result against
 * picomatch itself. A lookahead that remains comes from `!(...)`, which is refused.
 */
const OPTIONS: picomatch.PicomatchOptions = {
  /** `*` and `**` match names that start with a dot too. */
  dot: true,
  /** `/` is the only separator, on every platform. */
  windows: false,
  /** picomatch's shortcuts for globs that start with `*` or `.` read `**.nix` as `**` and `*.nix`; without them `**` is special only as a whole segment, as its documentation says. */
  fastpaths: false,
};

let libraries: { picomatch: typeof picomatch; RE2JS: typeof RE2JS } | undefined;
/** picomatch and re2js load with the first glob compiled, not with this module. */
function load() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  return (libraries ??= { picomatch: require('picomatch') as typeof picomatch, RE2JS: (require('re2js') as typeof import('re2js')).RE2JS });
}

/** What picomatch emits with `dot: true`: guards against `.`, `..` and empty segments, and "not at the end". */
const GUARDS = ['(?!(?:^|\\/)\\.{1,2}(?:\\/|$))', '(?!\\.{1,2}(?:\\/|$))', '(?!\\.{0,1}(?:\\/|$))', '(?=.)'];

export interface Glob {
  readonly glob: string;
  test(path: string): boolean;
}

/** A glob that cannot be used, with the reason. */
export class GlobError extends Error {}

/** The glob as an RE2 pattern; throws GlobError with the reason when it is not one of the dialect. */
export function compileGlob(glob: string): Glob {
  const fail = (reason: string): never => {
    throw new GlobError(`${JSON.stringify(glob.length > 80 ? `${glob.slice(0, 80)}…` : glob)} ${reason}`);
  };
  if (glob === '') fail('is empty');
  const { picomatch, RE2JS } = load();
  let state: ReturnType<typeof picomatch.parse>;
  try {
    state = picomatch.parse(glob, OPTIONS);
  } catch (e) {
    return fail(`is not a glob: ${(e as Error).message}`);
  }
  if (state.negated) fail('starts with "!" (negation), which is not supported: list what to match instead');
  let source = `^(?:${state.output})$`;
  for (const guard of GUARDS) source = source.split(guard).join('');
  if (/\(\?<?[=!]/.test(source)) fail('uses "!(...)" (match anything but), which is not supported');
  try {
    const re = RE2JS.compile(source, RE2JS.DOTALL);
    return { glob, test: (path) => re.matches(path) };
  } catch (e) {
    const reason = String((e as Error).message).replace(/^error parsing regexp: /, '').replace(/: `[\s\S]*`$/, '');
    return fail(`is not a glob (${reason}): is a "{", "(" or "[" left open?`);
  }
}

const compiled = new Map<string, Glob>();

/** compileGlob, once per glob. */
export function glob(pattern: string): Glob {
  let g = compiled.get(pattern);
  if (!g) compiled.set(pattern, (g = compileGlob(pattern)));
  return g;
}

/** Why a glob cannot be used, or undefined. */
export function globProblem(pattern: string): string | undefined {
  try {
    glob(pattern);
    return undefined;
  } catch (e) {
    if (e instanceof GlobError) return e.message;
    throw e;
  }
}

/**
 * A glob that matches this path. picomatch reads a run of escaped backslashes as one, so a backslash
 * that follows another is written `[\\]` (which also matches the three characters `[\]`).
 */
export function escapeGlob(path: string): string {
  return path.replace(/\\(?=\\)/g, '\0').replace(/[\\*?[\]{}()!@+|,^$"]/g, '\\$&').replace(/\0/g, '[\\\\]');
}

/** Whether the glob has wildcards, braces, brackets or parentheses: false for a plain path. */
export function isGlob(pattern: string): boolean {
  return load().picomatch.scan(pattern, OPTIONS).isGlob;
}

/** The folder a glob's matches lie in (`infra` of `infra/**\/*.nix`, '' when it starts with a wildcard); a plain path's own folder. */
export function globBase(pattern: string): string {
  const { base, isGlob } = load().picomatch.scan(pattern, OPTIONS);
  if (isGlob) return base;
  const slash = pattern.lastIndexOf('/');
  return slash < 0 ? '' : pattern.slice(0, slash);
}
