import { maskSecret, type Finding } from '../../report/finding';
import { HYGIENE_RULE_TABLE } from './rules';
import { positions } from './text';

const SECRET_NAME = /(password|passwd|passphrase|secret|token|psk|api[_-]?key|secret[_-]?key|private[_-]?key|credentials?)$/i;
const NOT_A_SECRET_NAME = /(file|files|path|paths|command|cmd|dir|length|name|type|url)$/i;
/** Values that point at a secret instead of holding one (files, Grafana's $__file{}), or that lock an account. */
const SAFE_VALUE = /^(\/run\/(secrets|credentials|keys|agenix)(\/|$)|\$CREDENTIALS_DIRECTORY|\$__(file|env)\{|[!*]$)/;
const WRAPPERS = new Set(['mkDefault', 'mkForce', 'mkOverrideDefault', 'mkForceDefault']);
/** Longest name part shown in a message; the rest is elided. */
const MAX_NAME = 120;

/** True for an attribute name that holds a credential: password, initialPassword, dbPassword, psk, apiToken, ... */
export function isSecretName(name: string): boolean {
  // Only the end of a name decides, and a crafted name may be a megabyte long.
  const tail = name.length > 32 ? name.slice(-32) : name;
  const match = SECRET_NAME.exec(tail);
  if (!match || NOT_A_SECRET_NAME.test(tail)) return false;
  const start = name.length - tail.length + match.index;
  // A word of its own: the whole name, after a separator, or a camelCase word (initialPassword).
  return start === 0 || /[_.-]/.test(name[start - 1]) || /[A-Z]/.test(name[start]);
}

function fileOption(name: string): string {
  if (/^(initialPassword|initialHashedPassword|hashedPassword|password)$/.test(name)) return 'hashedPasswordFile';
  return `${name}File`;
}

const clip = (s: string) => (s.length > MAX_NAME ? `${s.slice(0, MAX_NAME)}…` : s);

/** A string literal as the scanner hands it over: its start (the opening quote), raw source, value, and whether it interpolates. */
interface NixString {
  start: number;
  source: string;
  value: string;
  interpolated: boolean;
}

type Token = { kind: 'ident'; text: string } | { kind: 'string'; str: NixString } | { kind: 'op'; text: string };

/**
 * One pass over Nix source: identifiers, string literals (with `${...}` interpolations, which hold code
 * again), operators; comments and whitespace skipped. An explicit stack of contexts instead of recursion;
 * every character is looked at a bounded number of times.
 */
function scanNix(text: string, onToken: (token: Token) => void, onStringStart: () => unknown, onStringEnd: (saved: unknown) => void): void {
  type Frame = { kind: 'code'; braces: number } | { kind: 'dq' | 'ind'; start: number; parts: string[]; from: number; interpolated: boolean; saved: unknown };
  const stack: Frame[] = [{ kind: 'code', braces: 0 }];
  const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const isIdent = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57) || c === 39 || c === 45;
  let i = 0;
  const n = text.length;
  const endString = (frame: Extract<Frame, { kind: 'dq' | 'ind' }>, to: number, end: number) => {
    frame.parts.push(text.slice(frame.from, to));
    stack.pop();
    onStringEnd(frame.saved);
    const value = frame.parts.join('');
    onToken({ kind: 'string', str: { start: frame.start, source: text.slice(frame.start, end), value, interpolated: frame.interpolated || value.includes('${') } });
  };
  while (i < n) {
    const frame = stack[stack.length - 1];
    const c = text.charCodeAt(i);
    if (frame.kind === 'dq') {
      if (c === 92 /* \ */) {
        frame.parts.push(text.slice(frame.from, i), text[i + 1] ?? '');
        i += 2;
        frame.from = i;
      } else if (c === 34 /* " */) {
        endString(frame, i, i + 1);
        i += 1;
      } else if (c === 36 /* $ */ && text.charCodeAt(i + 1) === 123) {
        frame.parts.push(text.slice(frame.from, i));
        frame.interpolated = true;
        stack.push({ kind: 'code', braces: 0 });
        i += 2;
      } else i++;
      continue;
    }
    if (frame.kind === 'ind') {
      if (c === 39 && text.charCodeAt(i + 1) === 39) {
        const next = text[i + 2];
        if (next === "'" || next === '$') {
          frame.parts.push(text.slice(frame.from, i), next);
          i += 3;
          frame.from = i;
        } else if (next === '\\') {
          frame.parts.push(text.slice(frame.from, i), text[i + 3] ?? '');
          i += 4;
          frame.from = i;
        } else {
          endString(frame, i, i + 2);
          i += 2;
        }
      } else if (c === 36 && text.charCodeAt(i + 1) === 123) {
        frame.parts.push(text.slice(frame.from, i));
        frame.interpolated = true;
        stack.push({ kind: 'code', braces: 0 });
        i += 2;
      } else i++;
      continue;
    }
    const code = frame as Extract<Frame, { kind: 'code' }>;
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else if (c === 35 /* # */) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? n : end;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42 /* /* */) {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === 34) {
      stack.push({ kind: 'dq', start: i, parts: [], from: i + 1, interpolated: false, saved: onStringStart() });
      i++;
    } else if (c === 39 && text.charCodeAt(i + 1) === 39) {
      stack.push({ kind: 'ind', start: i, parts: [], from: i + 2, interpolated: false, saved: onStringStart() });
      i += 2;
    } else if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdent(text.charCodeAt(i))) i++;
      onToken({ kind: 'ident', text: text.slice(start, i) });
    } else if (c === 123 /* { */) {
      code.braces++;
      onToken({ kind: 'op', text: '{' });
      i++;
    } else if (c === 125 /* } */) {
      if (code.braces === 0 && stack.length > 1) {
        // The end of an interpolation: back into its string.
        stack.pop();
        const str = stack[stack.length - 1] as Extract<Frame, { kind: 'dq' | 'ind' }>;
        str.from = i + 1;
      } else {
        code.braces = Math.max(0, code.braces - 1);
        onToken({ kind: 'op', text: '}' });
      }
      i++;
    } else if (c === 61 /* = */ && text.charCodeAt(i + 1) === 61) {
      onToken({ kind: 'op', text: '==' });
      i += 2;
    } else {
      onToken({ kind: 'op', text: text[i] });
      i++;
    }
  }
}

/**
 * secret/nix-plaintext: string literals bound to password-ish attributes (`a.b.password = "..."`, also
 * under mkDefault/mkForce, in parentheses, or as a function default `password ? "..."`). `*File`
 * options, /run/secrets paths, interpolations and comments are not findings.
 */
export function checkNixPlaintext(file: string, text: string): Finding[] {
  if (!SECRET_HINT.test(text)) return [];
  let at: ReturnType<typeof positions> | undefined;
  const findings: Finding[] = [];

  // The binding being read: an attribute path, then `=` or `?`, then at most one wrapper, then a string.
  let path: string[] = [];
  let afterDot = false;
  let lastWasPart = false;
  let binding: string[] | undefined;
  let wrapper: 'none' | 'lib' | 'lib.' | 'done' = 'none';

  const reset = () => {
    path = [];
    afterDot = false;
    lastWasPart = false;
    binding = undefined;
    wrapper = 'none';
  };
  const report = (names: string[], str: NixString) => {
    const name = names[names.length - 1].replace(/^"|"$/g, '');
    if (!isSecretName(name) || str.interpolated) return;
    const value = str.value.trim();
    if (value === '' || SAFE_VALUE.test(value)) return;
    const masked = maskSecret(value);
    at ??= positions(text);
    const { line, column } = at(str.start);
    findings.push({
      rule: 'secret/nix-plaintext',
      severity: HYGIENE_RULE_TABLE['secret/nix-plaintext'].severity,
      file,
      line,
      column,
      message: `${clip(name)} is set to a plaintext string ("${masked}"): everything in a Nix configuration is world-readable in /nix/store.`,
      fix: `Put the value in a SOPS file (e.g. config/secrets.yaml) and use ${clip(fileOption(name))} = config.sops.secrets."<name>".path; instead.`,
      subject: `${names.map(clip).join('.')} = "${masked}"`,
    });
  };
  const part = (text: string) => {
    if (afterDot && path.length) path.push(text);
    else path = [text];
    afterDot = false;
    lastWasPart = true;
  };

  const onToken = (token: Token) => {
    if (binding) {
      // After `=` or `?`: a string, or one wrapper (mkDefault, lib.mkForce, an opening parenthesis) and then a string.
      if (token.kind === 'string') {
        report(binding, token.str);
        reset();
        return;
      }
      if (wrapper === 'none' && token.kind === 'ident' && token.text === 'lib') {
        wrapper = 'lib';
        return;
      }
      if (wrapper === 'lib' && token.kind === 'op' && token.text === '.') {
        wrapper = 'lib.';
        return;
      }
      if ((wrapper === 'none' || wrapper === 'lib.') && token.kind === 'ident' && WRAPPERS.has(token.text)) {
        wrapper = 'done';
        return;
      }
      if (wrapper === 'none' && token.kind === 'op' && token.text === '(') {
        wrapper = 'done';
        return;
      }
      reset();
    }
    if (token.kind === 'ident') part(token.text);
    else if (token.kind === 'string') {
      // A quoted attribute name ("db-password"); one with an interpolation is not a name.
      if (token.str.interpolated || token.str.source.includes('$')) reset();
      else part(token.str.source);
    } else if (token.text === '.' && lastWasPart) {
      afterDot = true;
      lastWasPart = false;
    } else if ((token.text === '=' || token.text === '?') && lastWasPart) {
      const names = path;
      reset();
      binding = names;
    } else reset();
  };
  // Tokens inside a string's interpolations are read on their own; the string then continues what came before it.
  const onStringStart = () => {
    const saved = { path, afterDot, lastWasPart, binding, wrapper };
    reset();
    return saved;
  };
  const onStringEnd = (saved: unknown) => {
    ({ path, afterDot, lastWasPart, binding, wrapper } = saved as { path: string[]; afterDot: boolean; lastWasPart: boolean; binding: string[] | undefined; wrapper: typeof wrapper });
  };
  scanNix(text, onToken, onStringStart, onStringEnd);
  return findings;
}

/** Cheap pre-filter: a file without any of these words cannot match. */
const SECRET_HINT = /pass|secret|token|psk|key|credential/i;
