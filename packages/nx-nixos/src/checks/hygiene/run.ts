import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../../fs/atomic';
import { escapeGlob } from '../../glob/glob';
import { applyAllowlist, type AllowlistEntry } from '../../report/allowlist';
import { MAX_ALLOWLIST_BYTES, parseAllowlist } from '../../report/allowlist-file';
import { exitCodeFor, type Finding } from '../../report/finding';
import { formatReport, formatText } from '../../report/format';
import type { ReportFormat } from '../../report/format';
import { describeFsError, readInsideWorkspace } from './fs-errors';
import { parseHygieneOptions, type HygieneOptions } from './options';
import { HYGIENE_RULES } from './rules';
import { outputDir } from '../../layout';
import { scanRepository } from './scan';

/** The allowlist, read as a regular file inside the workspace (never through a link out of it). */
function readAllowlist(root: string, file: string): AllowlistEntry[] {
  const text = readInsideWorkspace(root, file, MAX_ALLOWLIST_BYTES);
  if (text === undefined) throw new Error(`${file}: cannot read the allowlist: no such file (paths are relative to the workspace root).`);
  return parseAllowlist(text, file);
}

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

const EXTENSIONS: Record<ReportFormat, string> = { text: 'txt', json: 'json', sarif: 'sarif', github: 'txt' };

/**
 * Where the report goes: the path resolved (relative to the workspace root), through the folders that
 * exist, to a place inside the workspace; not a folder, not a FIFO or device. Returns the real path and
 * the path to show (workspace-relative).
 */
export function reportTarget(root: string, output: string, format: ReportFormat): { path: string; shown: string } {
  const realRoot = realpathSync(root);
  let existing = resolve(root, output);
  const rest: string[] = [];
  for (;;) {
    try {
      existing = realpathSync(existing);
      break;
    } catch {
      if (dirname(existing) === existing) break;
      rest.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
  const path = join(existing, ...rest);
  const rel = relative(realRoot, path);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    throw new Error(`output ${output}: lies outside the workspace (${path} is not under ${realRoot}); write the report inside it, e.g. ${outputDir()}/hygiene.${EXTENSIONS[format]}.`);
  const shown = rel.split(sep).join('/') || '.';
  let kind: 'folder' | 'special' | undefined;
  try {
    const stat = lstatSync(path);
    if (stat.isDirectory()) kind = 'folder';
    else if (!stat.isFile() && !stat.isSymbolicLink()) kind = 'special';
  } catch {
    // Not there yet: it is created.
  }
  if (kind === 'folder') throw new Error(`output ${shown}: is a folder; give a file path, e.g. ${shown}/hygiene.${EXTENSIONS[format]}.`);
  if (kind === 'special') throw new Error(`output ${shown}: is not a regular file (a FIFO, socket or device); give a file path.`);
  return { path, shown };
}

/** Scans, applies the allowlist, formats and writes the report: what the executor and the CLI share. */
export function runHygiene(root: string, input: unknown): HygieneRun {
  const options: HygieneOptions = parseHygieneOptions(input);
  const allowlist: AllowlistEntry[] = options.allowlist ? readAllowlist(root, options.allowlist) : [];
  const target = options.output === undefined ? undefined : reportTarget(root, options.output, options.format);
  // The report of the last run quotes findings; it is not itself a finding.
  const scanOptions = target ? { ...options, exclude: [...options.exclude, escapeGlob(target.shown)] } : options;
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
    try {
      writeFileAtomic(target.path, report);
    } catch (e) {
      throw new Error(describeFsError(e, target.shown, 'write the report to'), { cause: e });
    }
    const summary = formatText(kept).trimEnd().split('\n').pop();
    stdout = `${kept.length ? summary : 'No findings.'} ${options.format} report written to ${options.output}.\n`;
  }
  if (suppressed.length) messages.push(`${suppressed.length} finding(s) accepted by ${options.allowlist}.`);
  return { exitCode: exitCodeFor(kept, options.failLevel), stdout, messages, findings: kept, suppressed, files: scan.files.length };
}
