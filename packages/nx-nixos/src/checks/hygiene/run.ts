import { isAbsolute, join, relative } from 'node:path';
import { writeFileAtomic } from '../../fs/atomic';
import { applyAllowlist, type AllowlistEntry } from '../../report/allowlist';
import { loadAllowlistFile } from '../../report/allowlist-file';
import { exitCodeFor, type Finding } from '../../report/finding';
import { formatReport, formatText } from '../../report/format';
import { parseHygieneOptions, type HygieneOptions } from './options';
import { HYGIENE_RULES } from './rules';
import { scanRepository } from './scan';

export const HYGIENE_TOOL = { name: 'nx-nixos hygiene', version: '0.1.0', rules: HYGIENE_RULES };

export interface HygieneRun {
  /** 0 clean, 1 findings at or above the fail level (tool errors throw: the caller exits 2). */
  exitCode: 0 | 1;
  /** What goes to stdout: the report, or a summary when it was written to options.output. */
  stdout: string;
  /** Notes for people (stderr): unused allowlist entries, where the report went. */
  messages: string[];
  findings: Finding[];
  suppressed: Finding[];
  files: number;
}

/** Scans, applies the allowlist, formats and writes the report: what the executor and the CLI share. */
export function runHygiene(root: string, input: unknown): HygieneRun {
  const options: HygieneOptions = parseHygieneOptions(input);
  const allowlist: AllowlistEntry[] = options.allowlist ? loadAllowlistFile(join(root, options.allowlist)) : [];
  const target = options.output && (isAbsolute(options.output) ? options.output : join(root, options.output));
  const reportPath = target && relative(root, target).split('\\').join('/');
  // The report of the last run quotes findings; it is not itself a finding.
  const scanOptions = reportPath && !reportPath.startsWith('..') ? { ...options, exclude: [...options.exclude, reportPath] } : options;
  const scan = scanRepository(root, scanOptions);
  const { kept, suppressed, unused } = applyAllowlist(scan.findings, allowlist);
  const messages = [...scan.notes];
  const scanned = new Set(scan.files);
  for (const entry of unused) {
    // A profile scope sees part of the tree: entries for files it did not look at are not stale.
    if (options.scope === 'profile' && !scanned.has(entry.path)) continue;
    messages.push(`${options.allowlist}: entry { rule: ${entry.rule}, path: ${entry.path}, hash: ${entry.hash} } matches no finding; remove it.`);
  }
  const report = formatReport(options.format, kept, HYGIENE_TOOL);
  let stdout = report;
  if (target) {
    writeFileAtomic(target, report);
    const summary = formatText(kept).trimEnd().split('\n').pop();
    stdout = `${kept.length ? summary : 'No findings.'} ${options.format} report written to ${options.output}.\n`;
  }
  if (suppressed.length) messages.push(`${suppressed.length} finding(s) accepted by ${options.allowlist}.`);
  return { exitCode: exitCodeFor(kept, options.failLevel), stdout, messages, findings: kept, suppressed, files: scan.files.length };
}
