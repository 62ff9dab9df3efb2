import { maskSecret, type Finding } from '../../report/finding';
import { HYGIENE_RULE_TABLE } from './rules';
import { positions } from './text';

const IDENT = `(?:[A-Za-z_][\\w'-]*|"(?:[^"\\\\$]|\\\\.)*")`;
/** An attribute path or binding name, `=` (or `?` for a function default), optional mkDefault/mkForce, an opening quote. */
const BINDING = new RegExp(
  `(?<![\\w'.-])(${IDENT}(?:\\s*\\.\\s*${IDENT})*)\\s*(?:=|\\?)\\s*(?:(?:lib\\.)?mk(?:Default|Force|OverrideDefault|ForceDefault)\\s+|\\(\\s*)?("|'')`,
  'g',
);
const SECRET_NAME = /(password|passwd|passphrase|secret|token|psk|api[_-]?key|secret[_-]?key|private[_-]?key|credentials?)$/i;
const NOT_A_SECRET_NAME = /(file|files|path|paths|command|cmd|dir|length|name|type|url)$/i;
/** Values that point at a secret instead of holding one (files, Grafana's $__file{}), or that lock an account. */
const SAFE_VALUE = /^(\/run\/(secrets|credentials|keys|agenix)(\/|$)|\$CREDENTIALS_DIRECTORY|\$__(file|env)\{|[!*]$)/;

/** True for an attribute name that holds a credential: password, initialPassword, dbPassword, psk, apiToken, ... */
export function isSecretName(name: string): boolean {
  const match = SECRET_NAME.exec(name);
  if (!match || NOT_A_SECRET_NAME.test(name)) return false;
  const start = match.index;
  // A word of its own: the whole name, after a separator, or a camelCase word (initialPassword).
  return start === 0 || /[_.-]/.test(name[start - 1]) || /[A-Z]/.test(name[start]);
}

/** Blanks comments (keeping offsets), so commented-out examples are not reported. */
function blankComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/^([ \t]*)#.*$/gm, (line, indent: string) => indent + ' '.repeat(line.length - indent.length));
}

/** Reads a Nix string literal starting after its opening quote; undefined when unterminated. */
function readString(text: string, start: number, quote: string): { value: string; interpolated: boolean } | undefined {
  let value = '';
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quote === '"') {
      if (c === '\\') {
        value += text[i + 1] ?? '';
        i++;
      } else if (c === '"') return { value, interpolated: value.includes('${') };
      else value += c;
    } else if (text.startsWith("''", i)) {
      const next = text[i + 2];
      if (next === "'" || next === '$' || next === '\\') {
        value += next === '\\' ? (text[i + 3] ?? '') : next;
        i += next === '\\' ? 3 : 2;
      } else return { value, interpolated: value.includes('${') };
    } else value += c;
  }
  return undefined;
}

function fileOption(name: string): string {
  if (/^(initialPassword|initialHashedPassword|hashedPassword|password)$/.test(name)) return 'hashedPasswordFile';
  return `${name}File`;
}

/** secret/nix-plaintext: string literals bound to password-ish attributes. `*File` options and /run/secrets paths are fine. */
export function checkNixPlaintext(file: string, text: string): Finding[] {
  if (!SECRET_HINT.test(text)) return [];
  const code = blankComments(text);
  const at = positions(text);
  const findings: Finding[] = [];
  for (const match of code.matchAll(BINDING)) {
    const path = match[1].split(/\s*\.\s*/);
    const name = path[path.length - 1].replace(/^"|"$/g, '');
    if (!isSecretName(name)) continue;
    const valueStart = match.index + match[0].length;
    const literal = readString(code, valueStart, match[2]);
    if (!literal || literal.interpolated) continue;
    const value = literal.value.trim();
    if (value === '' || SAFE_VALUE.test(value)) continue;
    const masked = maskSecret(value);
    const { line, column } = at(valueStart - match[2].length);
    findings.push({
      rule: 'secret/nix-plaintext',
      severity: HYGIENE_RULE_TABLE['secret/nix-plaintext'].severity,
      file,
      line,
      column,
      message: `${name} is set to a plaintext string ("${masked}"): everything in a Nix configuration is world-readable in /nix/store.`,
      fix: `Put the value in a SOPS file (e.g. config/secrets.yaml) and use ${fileOption(name)} = config.sops.secrets."<name>".path; instead.`,
      subject: `${path.join('.')} = "${masked}"`,
    });
  }
  return findings;
}

/** Cheap pre-filter: a file without any of these words cannot match. */
const SECRET_HINT = /pass|secret|token|psk|key|credential/i;
