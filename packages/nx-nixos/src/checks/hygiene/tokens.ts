import { maskSecret, type Finding } from '../../report/finding';
import { hygieneFinding } from './rules';
import { looksLikePlaceholder, positions } from './text';

const PRIVATE_KEY = /-----BEGIN ((?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP |SSH2 )?PRIVATE KEY(?: BLOCK)?)-----/g;
const KEY_BODY = /[A-Za-z0-9+/]{40,}/;

/** secret/private-key: a PEM/OpenSSH/PGP private key header followed by key material (not a bare header in docs). */
export function checkPrivateKeys(file: string, text: string): Finding[] {
  if (!text.includes('PRIVATE KEY')) return [];
  const at = positions(text);
  const findings: Finding[] = [];
  for (const match of text.matchAll(PRIVATE_KEY)) {
    const after = text.slice(match.index + match[0].length, match.index + match[0].length + 600);
    const end = after.indexOf('-----END');
    const body = KEY_BODY.exec(end === -1 ? after : after.slice(0, end));
    if (!body) continue;
    findings.push(
      hygieneFinding('secret/private-key', file, at(match.index), {
        message: `A ${match[1].toLowerCase()} is committed (${maskSecret(body[0])}).`,
        fix: 'Remove the key from Git, rotate it (it is in history), and keep it in a SOPS file or outside the repository.',
        subject: `${match[1]} ${maskSecret(body[0])}`,
      }),
    );
  }
  return findings;
}

interface TokenFormat {
  name: string;
  pattern: RegExp;
  /** Index of the capture group that holds the credential (default 0: the whole match). */
  group?: number;
  /** Values that are documented examples or placeholders, not credentials. */
  ignore?: (value: string) => boolean;
  /** The exact form a match must have, tested on the match alone (anchored, so linear). */
  shape?: RegExp;
}

const PLACEHOLDER_PASSWORD = /^(\$|\{|<|%|\*+$|x+$|\.\.\.|password$|passwd$|pass$|pwd$|secret$|token$|changeme$)/i;

/** Well-known credential formats (the ones secretlint's recommended preset and GitHub secret scanning know best). */
export const TOKEN_FORMATS: readonly TokenFormat[] = [
  { name: 'AWS access key id', pattern: /\b((?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})\b/g, group: 1, ignore: (v) => v.endsWith('EXAMPLE') },
  { name: 'AWS secret access key', pattern: /aws_?secret_?access_?key["']?[ \t]{0,16}[:=][ \t]{0,16}["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi, group: 1, ignore: (v) => v.includes('EXAMPLEKEY') },
  { name: 'GitHub token', pattern: /\b(gh[pousr]_[A-Za-z0-9]{36})\b/g, group: 1 },
  { name: 'GitHub fine-grained token', pattern: /\b(github_pat_[A-Za-z0-9_]{82})\b/g, group: 1 },
  { name: 'GitLab token', pattern: /\b(gl(?:pat|dt|rt|ptt|cbt|oas)-[A-Za-z0-9_-]{20,})/g, group: 1 },
  { name: 'Slack token', pattern: /\b(xox[abposr]-[0-9A-Za-z-]{10,})/g, group: 1 },
  { name: 'Slack webhook', pattern: /(https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]{20,})/g, group: 1 },
  { name: 'npm token', pattern: /\b(npm_[A-Za-z0-9]{36})\b/g, group: 1 },
  // The whole run of key characters, then its shape: one unbounded run before a marker would be retried from every "sk-".
  { name: 'OpenAI API key', pattern: /\b(sk-[A-Za-z0-9_-]{20,})/g, group: 1, shape: /^sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}$/ },
  { name: 'Anthropic API key', pattern: /\b(sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,})/g, group: 1 },
  { name: 'Google API key', pattern: /\b(AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])/g, group: 1 },
  { name: 'Stripe secret key', pattern: /\b((?:sk|rk)_live_[0-9A-Za-z]{24,})/g, group: 1 },
  { name: 'SendGrid API key', pattern: /\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})/g, group: 1 },
  { name: 'age secret key', pattern: /\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b/g, group: 1 },
  {
    name: 'password in a URL',
    pattern: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:@/'"`<>]{1,64}:([^\s:@/'"`<>]{1,128})@[A-Za-z0-9.-]+/g,
    group: 1,
    ignore: (v) => PLACEHOLDER_PASSWORD.test(v),
  },
];

/** Cheap pre-filter shared by every format: one scan of the text before the specific patterns run. */
const TOKEN_HINT = /AKIA|ASIA|ABIA|ACCA|aws_?secret|gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|cbt|oas)-|xox[abposr]-|hooks\.slack|npm_|sk-|AIza|_live_|SG\.|AGE-SECRET-KEY-|:\/\/[^\s:@/'"`<>]{1,64}:[^\s:@/'"`<>]{1,128}@/i;

/** secret/token: credentials in well-known formats. */
export function checkTokens(file: string, text: string): Finding[] {
  if (!TOKEN_HINT.test(text)) return [];
  let at: ReturnType<typeof positions> | undefined;
  const findings: Finding[] = [];
  for (const format of TOKEN_FORMATS) {
    for (const match of text.matchAll(format.pattern)) {
      const value = match[format.group ?? 0];
      if (format.shape && !format.shape.test(value)) continue;
      if (format.ignore?.(value) || (format.name !== 'password in a URL' && looksLikePlaceholder(value))) continue;
      at ??= positions(text);
      const masked = maskSecret(value);
      findings.push(
        hygieneFinding('secret/token', file, at(match.index + match[0].indexOf(value)), {
          message: `${format.name} in plaintext (${masked}).`,
          fix: 'Revoke and rotate the credential (it is in Git history), then keep it in a SOPS file and read it at runtime.',
          subject: `${format.name} ${masked}`,
        }),
      );
    }
  }
  return findings;
}
