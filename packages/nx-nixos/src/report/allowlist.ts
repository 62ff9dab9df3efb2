import { contentHash, type Finding } from './finding';

/**
 * An accepted finding. Keyed by rule + path + content hash (never a line number), so an entry keeps
 * matching when the file is edited elsewhere and stops matching when the offending content changes.
 */
export interface AllowlistEntry {
  rule: string;
  path: string;
  /** contentHash() of the finding, as printed in json output; "*" accepts every finding of rule + path. */
  hash: string;
  reason: string;
}

export interface AllowlistResult {
  kept: Finding[];
  suppressed: Finding[];
  /** Entries that matched nothing: stale, to be removed. */
  unused: AllowlistEntry[];
}

export function applyAllowlist(findings: readonly Finding[], entries: readonly AllowlistEntry[]): AllowlistResult {
  const used = new Set<AllowlistEntry>();
  const kept: Finding[] = [];
  const suppressed: Finding[] = [];
  for (const finding of findings) {
    const hash = contentHash(finding);
    const entry = entries.find(
      (e) => e.rule === finding.rule && e.path === finding.file && (e.hash === '*' || e.hash === hash),
    );
    if (entry) {
      used.add(entry);
      suppressed.push(finding);
    } else kept.push(finding);
  }
  return { kept, suppressed, unused: entries.filter((e) => !used.has(e)) };
}
