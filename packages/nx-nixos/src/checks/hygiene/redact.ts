import { maskSecret, type Finding } from '../../report/finding';
import { TOKEN_FORMATS } from './tokens';

/** A value bound to a credential-like name: `password=...`, `API_KEY: ...`, `"token": "..."`. */
const ASSIGNED = /(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)["']?[ \t]{0,8}[:=][ \t]{0,8}["']?([^\s"'`,;]{4,})/gi;
/** Long runs of random-looking characters: base64/base62 secrets of unknown formats, hex keys. */
const LONG_RUN = /[A-Za-z0-9+=_]{32,}/g;
const HEX_RUN = /\b[0-9a-f]{32,}\b/g;
const MIXED = (s: string) => /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);
const masked = (value: string) => value.includes('***');

/**
 * Masks every secret-shaped part of a text that a finding quotes (a line, a key path): the token
 * formats of secret/token (placeholders and documented examples included), values bound to
 * credential-like names, and long random-looking runs. Masked text stays masked when masked again,
 * so the content hashes that allowlists use are stable.
 */
export function redactSecrets(text: string): string {
  if (text.length < 8) return text;
  let out = text;
  for (const format of TOKEN_FORMATS) {
    out = out.replace(format.pattern, (match: string, ...groups: unknown[]) => {
      const value = typeof groups[0] === 'string' && format.group ? groups[0] : match;
      if (masked(value)) return match;
      const at = match.endsWith(value) ? match.length - value.length : Math.max(0, match.lastIndexOf(`${value}@`));
      return match.slice(0, at) + maskSecret(value) + match.slice(at + value.length);
    });
  }
  out = out.replace(ASSIGNED, (match: string, value: string) => (masked(value) ? match : match.slice(0, match.length - value.length) + maskSecret(value)));
  out = out.replace(LONG_RUN, (run) => (MIXED(run) ? maskSecret(run) : run));
  out = out.replace(HEX_RUN, (run) => (/[a-f]/.test(run) && /[0-9]/.test(run) ? maskSecret(run) : run));
  return out;
}

/** The finding with its message and subject masked (file, fix and position are the tool's own words). */
export function redactFinding(finding: Finding): Finding {
  const message = redactSecrets(finding.message);
  const subject = finding.subject === undefined ? undefined : redactSecrets(finding.subject);
  if (message === finding.message && subject === finding.subject) return finding;
  return { ...finding, message, ...(subject === undefined ? {} : { subject }) };
}
