import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyAllowlist, type AllowlistEntry } from '../../report/allowlist';
import { EXIT, exitCodeFor, type Finding, type Severity } from '../../report/finding';
import { formatReport, type ReportFormat } from '../../report/format';
import { writeFileAtomic } from '../../fs/atomic';
import { checkDocs } from './check';
import { applyEdits, editsByFile } from './fix';
import { loadDocsTree } from './load';
import { DOCS_RULES } from './rules';
import type { DocsCheckInput, DocsFinding, ProjectTargets, TextEdit } from './types';

export const DEFAULT_EXCLUDE = ['**/test/fixtures/**', '**/__fixtures__/**'];

export interface DocsCheckRunOptions {
  /** Workspace (repository) root, absolute. */
  root: string;
  /** Docs folder, relative to root. */
  docsDir: string;
  format?: ReportFormat;
  fix?: boolean;
  /** Allowlist file, relative to root. */
  allowlist?: string;
  failLevel?: Severity;
  /** Also check every README.md in the repository. Default true. */
  readmes?: boolean;
  /** Globs of READMEs outside the docs folder not to check. */
  exclude?: readonly string[];
  moved?: Record<string, string>;
  stubMaxWords?: number;
  disabledRules?: readonly string[];
  /** undefined: skip the stale-command rule. */
  graph?: ProjectTargets;
}

export interface DocsCheckRun {
  exitCode: 0 | 1 | 2;
  /** The report in the chosen format (stdout). */
  report: string;
  /** Notes for people (stderr): rules skipped, fixes made, stale allowlist entries. */
  messages: string[];
  findings: Finding[];
  fixed: TextEdit[];
}

const toFinding = ({ edit: _edit, ...finding }: DocsFinding): Finding => finding;

/** Loads the tree, checks it, applies --fix, filters by the allowlist and formats: what the executor and CLI share. */
export async function runDocsCheck(options: DocsCheckRunOptions): Promise<DocsCheckRun> {
  const docsDir = options.docsDir === '.' ? '' : options.docsDir.replace(/^\.\//, '').replace(/\/+$/, '');
  // zod (the allowlist schema) costs startup time; load it only when there is an allowlist.
  const allowlist: AllowlistEntry[] = options.allowlist
    ? (await import('../../report/allowlist-file')).loadAllowlistFile(join(options.root, options.allowlist))
    : [];
  const load = async () => {
    const tree = loadDocsTree(options.root, docsDir, { readmes: options.readmes, exclude: options.exclude ?? DEFAULT_EXCLUDE });
    const input: DocsCheckInput = {
      ...tree,
      docsDir,
      graph: options.graph,
      moved: options.moved,
      stubMaxWords: options.stubMaxWords,
      disabledRules: options.disabledRules,
    };
    return checkDocs(input);
  };
  let result = await load();
  const messages = [...result.notes];
  const fixed: TextEdit[] = [];
  if (options.fix) {
    const edits = result.findings.flatMap((f) => (f.edit ? [f.edit] : []));
    for (const [file, fileEdits] of editsByFile(edits)) {
      const path = join(options.root, file);
      const before = readFileSync(path, 'utf8');
      const { text, applied, skipped } = applyEdits(before, fileEdits);
      if (text !== before) writeFileAtomic(path, text);
      fixed.push(...applied);
      for (const s of skipped) messages.push(`${s.file}:${s.line}: could not find "${s.from}" to replace; fix it by hand.`);
    }
    if (fixed.length) {
      messages.push(`Fixed ${fixed.length} finding(s) in ${new Set(fixed.map((e) => e.file)).size} file(s).`);
      result = await load();
    }
  }
  const { kept, unused } = applyAllowlist(result.findings.map(toFinding), allowlist);
  for (const entry of unused) messages.push(`${options.allowlist}: entry ${entry.rule} ${entry.path} ${entry.hash} matches nothing; remove it.`);
  const report = formatReport(options.format ?? 'text', kept, { name: 'nx-nixos docs-check', version: '0.1.0', rules: DOCS_RULES });
  return { exitCode: exitCodeFor(kept, options.failLevel ?? 'error'), report, messages, findings: kept, fixed };
}

export { EXIT };
