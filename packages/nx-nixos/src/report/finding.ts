import { createHash } from 'node:crypto';

export type Severity = 'error' | 'warning' | 'note';

export const SEVERITY_RANK: Record<Severity, number> = { note: 0, warning: 1, error: 2 };

/** One result of a check (hygiene, docs-check): what, where, why, and how to fix it. */
export interface Finding {
  /** Stable rule id, e.g. "secret/nix-plaintext" or "docs/missing-anchor". */
  rule: string;
  severity: Severity;
  /** Workspace-relative path with forward slashes. */
  file: string;
  line?: number;
  column?: number;
  message: string;
  /** A concrete next step (a command to run, an edit to make). */
  fix?: string;
  /**
   * The text the finding is about (a line, a link target, a masked secret). Its hash keys
   * allowlist entries, so they survive edits elsewhere in the file. Must never hold a secret in clear.
   */
  subject?: string;
}

/** Exit codes shared by every check. */
export const EXIT = { clean: 0, findings: 1, toolError: 2 } as const;

/** Short, stable hash of a finding's subject (or of its message when it has none). */
export function contentHash(finding: Pick<Finding, 'subject' | 'message'>): string {
  return createHash('sha256')
    .update(finding.subject ?? finding.message)
    .digest('hex')
    .slice(0, 16);
}

/** Shows the first and last characters of a secret and hides the rest. */
export function maskSecret(value: string): string {
  if (value.length <= 8) return '*'.repeat(value.length);
  const keep = Math.min(3, Math.floor(value.length / 6));
  return `${value.slice(0, keep)}${'*'.repeat(Math.min(value.length - 2 * keep, 12))}${value.slice(-keep)}`;
}

export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.rule.localeCompare(b.rule),
  );
}

/** 1 when any finding is at or above `failLevel`, else 0. */
export function exitCodeFor(findings: readonly Finding[], failLevel: Severity = 'error'): 0 | 1 {
  return findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failLevel]) ? EXIT.findings : EXIT.clean;
}
