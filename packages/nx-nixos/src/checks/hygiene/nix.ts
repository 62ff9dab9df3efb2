import { lexNix, stringValue } from '../../nix/lexer';
import { maskSecret, type Finding } from '../../report/finding';
import { hygieneFinding } from './rules';
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
 * Nix source as identifiers, string literals and everything else (`op`), read by the Nix lexer. A string
 * is handed over when it ends, after the tokens of its `${...}` interpolations, which are code again.
 */
function scanNix(text: string, onToken: (token: Token) => void, onStringStart: () => unknown, onStringEnd: (saved: unknown) => void): void {
  type OpenString = { kind: 'string'; start: number; indented: boolean; parts: string[]; interpolated: boolean; saved: unknown };
  // The strings and antiquotations being read, innermost last, as the lexer nests them.
  const open: Array<OpenString | { kind: 'interp' }> = [];
  lexNix(text, ({ kind, start, end }) => {
    const inside = open[open.length - 1];
    switch (kind) {
      case 'str-start':
        open.push({ kind: 'string', start, indented: end - start === 2, parts: [], interpolated: false, saved: onStringStart() });
        return;
      case 'str-text':
        (inside as OpenString).parts.push(stringValue(text, start, end, (inside as OpenString).indented));
        return;
      case 'str-end': {
        const str = open.pop() as OpenString;
        onStringEnd(str.saved);
        const value = str.parts.join('');
        onToken({ kind: 'string', str: { start: str.start, source: text.slice(str.start, end), value, interpolated: str.interpolated || value.includes('${') } });
        return;
      }
      case 'interp-start':
        if (inside?.kind === 'string') inside.interpolated = true;
        open.push({ kind: 'interp' });
        break;
      case 'interp-end':
        open.pop();
        break;
      case 'path-text':
      case 'path-end':
      case 'unterminated':
        return;
      case 'id':
        onToken({ kind: 'ident', text: text.slice(start, end) });
        return;
    }
    onToken({ kind: 'op', text: text.slice(start, end) });
  });
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
    findings.push(
      hygieneFinding('secret/nix-plaintext', file, at(str.start), {
        message: `${clip(name)} is set to a plaintext string ("${masked}"): everything in a Nix configuration is world-readable in /nix/store.`,
        fix: `Put the value in a SOPS file (e.g. config/secrets.yaml) and use ${clip(fileOption(name))} = config.sops.secrets."<name>".path; instead.`,
        subject: `${names.map(clip).join('.')} = "${masked}"`,
      }),
    );
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
