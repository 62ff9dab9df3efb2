/**
 * Static check of RAVE's own NixOS options, without nixpkgs: collects the option declarations under
 * `options.<namespace>` in the modules and every place the profiles, configs, tests and modules set
 * or read an option in those namespaces, and reports uses of options that are not declared.
 *
 * It understands the Nix that modules are written in (attribute sets, `let`, lambdas, strings with
 * interpolation, `inherit`, `lib.mkIf`/`mkMerge` wrappers, let-bound aliases such as
 * `cfg = config.services.rave.gitlab`, and let-bound helpers that return `lib.mkOption`), not all of
 * Nix: a value it cannot see through is skipped, never guessed.
 */

import { lexNix, lineCounter, type NixTokenKind } from '../../packages/nx-nixos/src/nix/lexer';

export const RAVE_NAMESPACES: readonly string[][] = [['services', 'rave'], ['security', 'rave'], ['rave']];

type TokenKind = 'ident' | 'string' | 'path' | 'uri' | 'number' | 'op';
interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  /** Interpolations of a string or a path, each tokenized. */
  interps?: Token[][];
}

/** A value in the source: the attribute sets it contains, whether it declares an option, what it reads. */
interface Value {
  attrsets: Binding[][];
  head?: Segment[];
  reads: Read[];
}
type Segment = string | null; // null: a dynamic segment (`${...}`)
interface Binding {
  path: Segment[];
  value: Value;
  line: number;
}
interface Read {
  path: Segment[];
  line: number;
}

export interface OptionUse {
  file: string;
  line: number;
  path: string[];
  kind: 'set' | 'read';
}
export interface OptionFinding extends OptionUse {
  message: string;
}

export class NixScanError extends Error {}

const KIND: Partial<Record<NixTokenKind, TokenKind>> = { id: 'ident', int: 'number', float: 'number', uri: 'uri', path: 'path', spath: 'path', op: 'op' };
/** A dynamic attribute name, `x.${name}` or `${name} = ...`: a string token with this text. */
const DYNAMIC = '\u0000dynamic';

/**
 * The tokens of a file for the parser below: a string is one token (its text between the quotes, as
 * written), an interpolated path one path token, each with the tokens of its interpolations.
 */
function tokenize(src: string, file: string): Token[] {
  const lineAt = lineCounter(src);
  const tokens: Token[] = [];
  // Strings and paths being read (where their text starts), and interpolations (the list to return to).
  const open: Array<{ token: Token; from: number } | { back: Token[] }> = [];
  let current = tokens;
  lexNix(src, ({ kind, start, end }) => {
    const line = lineAt(start);
    switch (kind) {
      case 'str-start':
      case 'path-start': {
        const token: Token = { kind: kind === 'str-start' ? 'string' : 'path', text: '', line, interps: [] };
        current.push(token);
        open.push({ token, from: kind === 'str-start' ? end : start });
        return;
      }
      case 'str-end':
      case 'path-end': {
        const { token, from } = open.pop() as { token: Token; from: number };
        token.text = src.slice(from, kind === 'str-end' ? start : end);
        return;
      }
      case 'interp-start': {
        const inside = open[open.length - 1];
        let owner: Token;
        if (inside && 'token' in inside) owner = inside.token;
        else current.push((owner = { kind: 'string', text: DYNAMIC, line, interps: [] }));
        const inner: Token[] = [];
        owner.interps?.push(inner);
        open.push({ back: current });
        current = inner;
        return;
      }
      case 'interp-end':
        current = (open.pop() as { back: Token[] }).back;
        return;
      case 'unterminated': {
        const what = src.startsWith('/*', start) ? 'comment' : src.startsWith('${', start) ? '${' : 'string';
        throw new NixScanError(`${file}:${line}: unterminated ${what}`);
      }
    }
    const tokenKind = KIND[kind];
    if (tokenKind) current.push({ kind: tokenKind, text: src.slice(start, end), line });
  });
  return tokens;
}

const isOp = (t: Token | undefined, text: string) => t !== undefined && t.kind === 'op' && t.text === text;
const isKeyword = (t: Token | undefined, text: string) => t !== undefined && t.kind === 'ident' && t.text === text;
const segmentOf = (t: Token): Segment => (t.kind === 'ident' ? t.text : t.text === DYNAMIC ? null : t.text);
const OPTION_CONSTRUCTOR = /^mk(Enable|Package)?Option$/;

class Parser {
  readonly aliases = new Map<string, Segment[]>();
  readonly factories = new Set<string>();
  constructor(private readonly tokens: Token[]) {}

  /** Index of the token matching the opener at `open`. */
  private matching(open: number): number {
    const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
    let depth = 0;
    for (let j = open; j < this.tokens.length; j++) {
      const t = this.tokens[j];
      if (t.kind !== 'op') continue;
      if (t.text in pairs) depth++;
      else if (Object.values(pairs).includes(t.text) && --depth === 0) return j;
    }
    return this.tokens.length;
  }

  /** Parses a value from `i` until one of `stops` at depth 0; returns it and the index of the stop. */
  value(i: number, stops: readonly string[]): [Value, number] {
    const v: Value = { attrsets: [], reads: [] };
    let first = true;
    while (i < this.tokens.length) {
      const t = this.tokens[i];
      if (t.kind === 'op' && stops.includes(t.text)) break;
      if (t.kind === 'ident' && t.text === 'in' && stops.includes('in')) break;
      if (isOp(t, '{')) {
        const close = this.matching(i);
        if (isOp(this.tokens[close + 1], ':') || isOp(this.tokens[close + 1], '@')) {
          i = close + 2; // lambda with a set pattern: skip it
          if (isOp(this.tokens[i - 1], '@')) i += 2;
          continue;
        }
        const [bindings] = this.attrsetBody(i + 1, close);
        v.attrsets.push(bindings);
        i = close + 1;
        first = false;
        continue;
      }
      if (isOp(t, '[') || isOp(t, '(')) {
        const close = this.matching(i);
        const [inner] = this.value(i + 1, [t.text === '[' ? ']' : ')']);
        v.attrsets.push(...inner.attrsets);
        v.reads.push(...inner.reads);
        if (first && inner.head) v.head = inner.head;
        i = close + 1;
        first = false;
        continue;
      }
      if (isKeyword(t, 'let')) {
        const [bindings, end] = this.bindings(i + 1, ['in']);
        this.learnLet(bindings);
        for (const b of bindings) v.reads.push(...b.value.reads);
        i = end + 1;
        continue;
      }
      if (t.kind === 'ident' && isOp(this.tokens[i + 1], ':')) {
        i += 2; // lambda with a plain argument
        continue;
      }
      if (t.kind === 'ident' && !['rec', 'with', 'assert', 'if', 'then', 'else', 'or', 'inherit'].includes(t.text)) {
        const [path, next] = this.selectPath(i);
        v.reads.push({ path, line: t.line });
        if (first) v.head = path;
        i = next;
        first = false;
        continue;
      }
      if (t.kind === 'string') this.readInterpolations(t, v);
      if (!isKeyword(t, 'rec')) first = false;
      i++;
    }
    return [v, i];
  }

  private readInterpolations(t: Token, v: Value) {
    for (const inner of t.interps ?? []) {
      const [iv] = new SubParser(inner, this).value(0, []);
      v.reads.push(...iv.reads);
    }
  }

  private selectPath(i: number): [Segment[], number] {
    const path: Segment[] = [this.tokens[i].text];
    i++;
    while (isOp(this.tokens[i], '.') && this.tokens[i + 1] && ['ident', 'string'].includes(this.tokens[i + 1].kind)) {
      path.push(segmentOf(this.tokens[i + 1]));
      i += 2;
    }
    return [path, i];
  }

  private attrsetBody(i: number, close: number): [Binding[], number] {
    const [bindings] = this.bindings(i, ['}'], close);
    return [bindings, close];
  }

  /** `name.path = value;` and `inherit ...;` bindings until a stop token. */
  bindings(i: number, stops: readonly string[], limit = this.tokens.length): [Binding[], number] {
    const out: Binding[] = [];
    while (i < limit) {
      const t = this.tokens[i];
      if ((t.kind === 'op' && stops.includes(t.text)) || (stops.includes('in') && isKeyword(t, 'in'))) break;
      if (isKeyword(t, 'inherit')) {
        let j = i + 1;
        let from: Segment[] | undefined;
        if (isOp(this.tokens[j], '(')) {
          const close = this.matching(j);
          const [fv] = this.value(j + 1, [')']);
          from = fv.head;
          j = close + 1;
        }
        while (j < limit && !isOp(this.tokens[j], ';')) {
          const name = this.tokens[j];
          const read = { path: from ? [...from, segmentOf(name)] : [segmentOf(name)], line: name.line };
          out.push({ path: [segmentOf(name)], value: { attrsets: [], reads: [read], head: read.path }, line: name.line });
          j++;
        }
        i = j + 1;
        continue;
      }
      const path: Segment[] = [];
      let j = i;
      while (j < limit && !isOp(this.tokens[j], '=')) {
        const seg = this.tokens[j];
        if (seg.kind === 'ident' || seg.kind === 'string') {
          path.push(segmentOf(seg));
          if (seg.kind === 'string') this.readInterpolations(seg, { attrsets: [], reads: [] });
        } else if (!isOp(seg, '.')) throw new NixScanError(`line ${seg.line}: unexpected "${seg.text}" in an attribute path`);
        j++;
      }
      const [value, end] = this.value(j + 1, [';']);
      out.push({ path, value, line: t.line });
      i = end + 1;
    }
    return [out, i];
  }

  private learnLet(bindings: Binding[]) {
    for (const b of bindings) {
      if (b.path.length !== 1 || b.path[0] === null) continue;
      const name = b.path[0];
      const v = b.value;
      if (v.head && v.head[0] === 'config' && v.reads.length === 1 && v.attrsets.length === 0) this.aliases.set(name, v.head.slice(1));
      else if (v.head && v.head[0] !== null && this.aliases.has(v.head[0]) && v.reads.length === 1 && v.attrsets.length === 0)
        this.aliases.set(name, [...this.aliases.get(v.head[0])!, ...v.head.slice(1)]);
      if (v.reads.some((r) => OPTION_CONSTRUCTOR.test(String(r.path[r.path.length - 1])))) this.factories.add(name);
    }
  }

  isOption(v: Value): boolean {
    const head = v.head;
    if (!head) return false;
    const last = head[head.length - 1];
    return (typeof last === 'string' && OPTION_CONSTRUCTOR.test(last)) || (head.length === 1 && this.factories.has(String(head[0])));
  }
}

/** Parses an interpolation with the aliases and helpers of the enclosing file. */
class SubParser extends Parser {
  constructor(tokens: Token[], parent: Parser) {
    super(tokens);
    for (const [k, v] of parent.aliases) this.aliases.set(k, v);
    for (const f of parent.factories) this.factories.add(f);
  }
}

export interface ParsedModuleFile {
  file: string;
  declarations: { path: string[]; line: number }[];
  uses: OptionUse[];
}

const startsWith = (path: readonly Segment[], prefix: readonly string[]) => prefix.every((p, k) => path[k] === p);
const known = (path: Segment[]): string[] => {
  const end = path.indexOf(null);
  return (end < 0 ? path : path.slice(0, end)) as string[];
};

/**
 * Option declarations and uses of one Nix file (a module, a profile, a test with `nodes.*` modules).
 * Uses are collected in `namespaces` (RAVE's own by default; upstream ones for the nixpkgs check).
 */
export function scanModuleFile(file: string, source: string, namespaces: readonly string[][] = RAVE_NAMESPACES): ParsedModuleFile {
  const inNamespace = (path: readonly Segment[]) => namespaces.some((ns) => startsWith(path, ns));
  const leadsToNamespace = (path: readonly Segment[]) => namespaces.some((ns) => path.length < ns.length && startsWith(ns, path as string[]));
  const parser = new Parser(tokenize(source, file));
  const [top] = parser.value(0, []);
  const result: ParsedModuleFile = { file, declarations: [], uses: [] };

  const declare = (prefix: Segment[], v: Value, line: number) => {
    if (parser.isOption(v)) {
      result.declarations.push({ path: known(prefix), line });
      return;
    }
    for (const set of v.attrsets) for (const b of set) declare([...prefix, ...b.path], b.value, b.line);
  };
  // A set literal (bare or wrapped, e.g. lib.mkIf cond { ... }) sets the options inside it; anything
  // else sets the option at `prefix` itself.
  const use = (prefix: Segment[], v: Value, line: number) => {
    if (inNamespace(prefix)) {
      // `x = { };` defines x too.
      if (v.attrsets.every((set) => set.length === 0)) result.uses.push({ file, line, path: known(prefix), kind: 'set' });
      for (const set of v.attrsets) for (const b of set) use([...prefix, ...b.path], b.value, b.line);
    } else if (leadsToNamespace(prefix)) for (const set of v.attrsets) for (const b of set) use([...prefix, ...b.path], b.value, b.line);
  };
  const moduleBody = (bindings: Binding[]) => {
    for (const b of bindings) {
      const [root] = b.path;
      if (root === 'options') declare(b.path.slice(1), b.value, b.line);
      // Modules written inline in `imports = [ { ... } ]` are part of this file.
      else if (root === 'imports' && b.path.length === 1) for (const set of b.value.attrsets) moduleBody(set);
      else if (root === 'config') {
        if (b.path.length === 1) for (const set of b.value.attrsets) for (const c of set) use(c.path, c.value, c.line);
        else use(b.path.slice(1), b.value, b.line);
      } else if (!['imports', 'meta', 'disabledModules', '_file', 'key'].includes(String(root))) use(b.path, b.value, b.line);
    }
  };

  for (const set of top.attrsets) {
    const nodes = set.filter((b) => b.path[0] === 'nodes');
    if (nodes.length > 0) for (const n of nodes) for (const body of n.value.attrsets) moduleBody(body);
    else moduleBody(set);
  }

  const collectReads = (v: Value, out: Read[]) => {
    out.push(...v.reads);
    for (const set of v.attrsets) for (const b of set) collectReads(b.value, out);
  };
  const reads: Read[] = [];
  collectReads(top, reads);
  for (const r of reads) {
    const [root, ...rest] = r.path;
    let resolved: Segment[] | undefined;
    if (root === 'config') resolved = rest;
    else if (root !== null && parser.aliases.has(root)) resolved = [...parser.aliases.get(root)!, ...rest];
    if (resolved && inNamespace(resolved)) result.uses.push({ file, line: r.line, path: known(resolved), kind: 'read' });
  }
  return result;
}

/** Uses of options (set or read) that no module declares. */
export function undeclaredUses(files: readonly ParsedModuleFile[]): OptionFinding[] {
  const declared = files.flatMap((f) => f.declarations.map((d) => d.path.join('.')));
  const findings: OptionFinding[] = [];
  for (const use of files.flatMap((f) => f.uses)) {
    const dotted = use.path.join('.');
    const hit = declared.some((d) => dotted === d || dotted.startsWith(`${d}.`));
    if (hit) continue;
    const group = declared.some((d) => d.startsWith(`${dotted}.`));
    if (group && use.kind === 'read') continue; // reading a group of options (e.g. cfg = config.services.rave.gitlab) is fine
    const parent = use.path.slice(0, -1).join('.');
    const siblings = declared.filter((d) => d.startsWith(`${parent}.`)).map((d) => d.slice(parent.length + 1).split('.')[0]);
    findings.push({
      ...use,
      message: group
        ? `${dotted} is a group of options, not an option: set one of its options instead`
        : `no module declares the option ${dotted}` +
          (siblings.length ? `; ${parent} has: ${[...new Set(siblings)].sort().join(', ')}` : ''),
    });
  }
  return findings;
}

/** The string literals of a file (text between the quotes, `${...}` kept as written), with their lines. */
export function stringLiterals(file: string, source: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const walk = (tokens: Token[]) => {
    for (const t of tokens) {
      if (t.kind === 'string' && t.text !== DYNAMIC) out.push({ text: t.text, line: t.line });
      for (const inner of t.interps ?? []) walk(inner);
    }
  };
  walk(tokenize(source, file));
  return out;
}

export interface ImportElement {
  line: number;
  /**
   * `path`: a relative path literal, possibly inside an expression (`import ./x.nix { }`), which the
   * import graph follows; `inline`: a module written in place (`{ ... }` or a function returning
   * one), scanned with the file; `expression`: anything else (`sopsModule`,
   * `modulesPath + "/profiles/qemu-guest.nix"`, `<nixpkgs/...>`), which a static reading cannot follow.
   */
  kind: 'path' | 'inline' | 'expression';
  /** The element as its tokens joined by spaces (none around `.`), outer parentheses removed. */
  text: string;
}

/** The elements of every `imports = [ ... ]` of a file; an `imports` that is not a list literal is one expression. */
export function importElements(file: string, source: string): ImportElement[] {
  const tokens = tokenize(source, file);
  const show = (ts: Token[]) =>
    ts
      .map((t, k) => (k > 0 && !isOp(t, '.') && !isOp(ts[k - 1], '.') ? ' ' : '') + (t.kind === 'string' ? JSON.stringify(t.text) : t.text))
      .join('');
  const classify = (ts: Token[], line: number): ImportElement => {
    let inner = ts;
    while (isOp(inner[0], '(') && isOp(inner[inner.length - 1], ')')) inner = inner.slice(1, -1);
    const text = show(inner);
    if (isOp(inner[0], '{') || (inner[0]?.kind === 'ident' && isOp(inner[1], ':'))) return { line, kind: 'inline', text };
    const relative = inner.some((t) => t.kind === 'path' && (t.text.startsWith('./') || t.text.startsWith('../')));
    return { line, kind: relative ? 'path' : 'expression', text };
  };
  const opens = (k: number) => ['(', '[', '{'].some((o) => isOp(tokens[k], o));
  const closes = (k: number) => [')', ']', '}'].some((o) => isOp(tokens[k], o));
  const out: ImportElement[] = [];
  for (let i = 0; i + 2 < tokens.length; i++) {
    const t = tokens[i];
    if (!(t.kind === 'ident' && t.text === 'imports' && isOp(tokens[i + 1], '=') && !isOp(tokens[i - 1], '.'))) continue;
    if (!isOp(tokens[i + 2], '[')) {
      let j = i + 2;
      let depth = 0;
      while (j < tokens.length && !(depth === 0 && isOp(tokens[j], ';'))) {
        if (opens(j)) depth++;
        else if (closes(j)) depth--;
        j++;
      }
      out.push({ line: t.line, kind: 'expression', text: show(tokens.slice(i + 2, j)) });
      continue;
    }
    let j = i + 3;
    while (j < tokens.length && !isOp(tokens[j], ']')) {
      const start = j;
      // One element: a bracketed group or a name with its selections; followed by `:` (or `@`) it
      // is a function, and its body belongs to the same element.
      for (;;) {
        if (opens(j)) {
          let depth = 0;
          do {
            if (opens(j)) depth++;
            else if (closes(j)) depth--;
            j++;
          } while (j < tokens.length && depth > 0);
        } else {
          j++;
          while (isOp(tokens[j], '.') && tokens[j + 1] && tokens[j + 1].kind !== 'op') j += 2;
        }
        if (!isOp(tokens[j], ':') && !isOp(tokens[j], '@')) break;
        j++;
      }
      out.push(classify(tokens.slice(start, j), tokens[start].line));
    }
  }
  return out;
}

export interface TestModuleSetting {
  path: string[];
  line: number;
  /** The value when it is a plain name (`false`, `true`, a variable), else undefined. */
  value?: string;
}

/**
 * The settings of a NixOS test module (the attribute set that has `nodes`, as passed to
 * runNixOSTest) other than `imports`: `name`, `testScript`, `node.pkgsReadOnly`, `nodes.<name>`, ...
 * A file without such a set gives none. Attribute set literals are followed (`node = { ... }`),
 * node modules are not.
 */
export function testModuleSettings(file: string, source: string): TestModuleSetting[] {
  const parser = new Parser(tokenize(source, file));
  const [top] = parser.value(0, []);
  const out: TestModuleSetting[] = [];
  const walk = (prefix: Segment[], v: Value, line: number) => {
    if (prefix[0] !== 'nodes' && v.head === undefined && v.attrsets.length === 1 && v.attrsets[0].length > 0) {
      for (const b of v.attrsets[0]) walk([...prefix, ...b.path], b.value, b.line);
      return;
    }
    const plain = v.attrsets.length === 0 && v.head?.length === 1 && typeof v.head[0] === 'string' ? v.head[0] : undefined;
    out.push({ path: known(prefix), line, value: plain });
  };
  for (const set of top.attrsets)
    if (set.some((b) => b.path[0] === 'nodes')) for (const b of set) if (b.path[0] !== 'imports') walk(b.path, b.value, b.line);
  return out;
}
