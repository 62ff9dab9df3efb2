import type { Finding, Severity } from '../../report/finding';

/** Every hygiene rule: stable id -> default severity and a one-line description (SARIF rule table, docs). */
export const HYGIENE_RULE_TABLE = {
  'image/committed': { severity: 'error', description: 'A VM disk image (qcow2, raw, vmdk, vdi, iso) is committed outside the artifacts folder.' },
  'image/untracked': { severity: 'warning', description: 'A VM disk image lies in the working tree outside the artifacts folder.' },
  'size/large': { severity: 'error', description: 'A committed file above the size thresholds is not tracked by Git LFS.' },
  'size/large-new': { severity: 'error', description: 'A file added since the base ref is above the budget for new files and not tracked by Git LFS.' },
  'lfs/not-pointer': { severity: 'error', description: '.gitattributes sends a file to LFS, but it is committed as raw content instead of an LFS pointer.' },
  'artifacts/tracked': { severity: 'error', description: 'A file other than the README is committed under the artifacts folder.' },
  'secret/nix-plaintext': { severity: 'error', description: 'A Nix string literal is bound to a password, secret or token option: it ends up world-readable in /nix/store.' },
  'secret/sops-plaintext': { severity: 'error', description: 'A value of a SOPS file is not encrypted (not an ENC[...] value).' },
  'secret/sops-metadata': { severity: 'error', description: 'A SOPS file has no sops metadata: it was never encrypted, or the metadata was stripped.' },
  'secret/private-key': { severity: 'error', description: 'A private key (PEM, OpenSSH, PGP) is committed.' },
  'secret/token': { severity: 'error', description: 'A credential in a well-known format (cloud, forge, chat and API tokens, age keys, passwords in URLs).' },
  'stale/legacy-reference': { severity: 'warning', description: 'Live code or docs refer to a legacy folder.' },
} as const satisfies Record<string, { severity: Severity; description: string }>;

export type HygieneRuleId = keyof typeof HYGIENE_RULE_TABLE;
export const HYGIENE_RULE_IDS = Object.keys(HYGIENE_RULE_TABLE) as HygieneRuleId[];

/** Rule id -> description, the shape of ToolInfo.rules. */
export const HYGIENE_RULES: Record<string, string> = Object.fromEntries(
  HYGIENE_RULE_IDS.map((id) => [id, HYGIENE_RULE_TABLE[id].description]),
);

/** A finding of a hygiene rule at a place in a file, with the rule's severity. */
export function hygieneFinding(
  rule: HygieneRuleId,
  file: string,
  at: { line?: number; column?: number },
  details: Required<Pick<Finding, 'message' | 'fix' | 'subject'>>,
): Finding {
  return { rule, severity: HYGIENE_RULE_TABLE[rule].severity, file, line: at.line, column: at.column, ...details };
}
