import { realpathSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { applyAllowlist, type AllowlistEntry } from '../../report/allowlist';
import { exitCodeFor, type Finding, type Severity } from '../../report/finding';
import { formatReport, type ReportFormat } from '../../report/format';
import { writeFileAtomic } from '../../fs/atomic';
import { loadAllowlist } from './allowlist';
import { checkDocs } from './check';
import { applyEdits, editsByFile } from './fix';
import { loadDocsTree } from './load';
import { leaves, TreeReader } from './read-tree';
import { retiredCommands, type RetiredCommandOption } from './retired';
import { DOCS_RULES } from './rules';
import type { DocsCheckInput, DocsFinding, ProjectTargets, TextEdit } from './types';

export const DEFAULT_EXCLUDE = ['**/test/fixtures/**', '**/__fixtures__/**'];

export interface DocsCheckRunOptions {
  /** Workspace (repository) root, absolute. */
  root: string;
  /** Docs folder, relative to root; it must be inside root. */
  docsDir: string;
  format?: ReportFormat;
  fix?: boolean;
  /** Allowlist file, relative to root; it must be a regular file inside root. */
  allowlist?: string;
  failLevel?: Severity;
  /** Also check every README.md in the repository. Default true. */
  readmes?: boolean;
  /** Globs of READMEs outside the docs folder not to check. */
  exclude?: readonly string[];
  moved?: Record<string, string>;
  stubMaxWords?: number;
  disabledRules?: readonly string[];
  /** Commands that no longer exist (checked at run time: it comes from nx.json). */
  retiredCommands?: readonly RetiredCommandOption[];
  /** undefined: skip the stale-command rule. */
  graph?: ProjectTargets;
}

export interface DocsCheckRun {
  exitCode: 0 | 1;
  /** The report in the chosen format (stdout). */
  report: string;
  /** Notes for people (stderr): rules skipped, fixes made, stale allowlist entries. */
  messages: string[];
  findings: Finding[];
  fixed: TextEdit[];
}

const toFinding = ({ edit: _edit, ...finding }: DocsFinding): Finding => finding;

/** A docs folder given relative to the root, normalised; an error when it is not inside the root. */
function docsFolder(reader: TreeReader, docsDir: string): string {
  const rel = relative(reader.root, resolve(reader.root, docsDir)).split(sep).join('/');
  if (leaves(rel)) throw new Error(`docs folder "${docsDir}" is outside the repository ${reader.root}; name a folder inside it, relative to its root (e.g. "docs").`);
  const real = (() => {
    try {
      return realpathSync.native(join(reader.root, rel));
    } catch {
      return undefined; // a missing docs folder is a finding (docs/no-index), not an error
    }
  })();
  if (real !== undefined && !reader.inside(real))
    throw new Error(`docs folder "${docsDir}" leads outside the repository ${reader.root} (a symlink); name a folder inside it.`);
  return rel;
}

/** Loads the tree, checks it, applies --fix, filters by the allowlist and formats: what the executor and CLI share. */
export async function runDocsCheck(options: DocsCheckRunOptions): Promise<DocsCheckRun> {
  const reader = new TreeReader(options.root);
  const docsDir = docsFolder(reader, options.docsDir);
  const allowlist: AllowlistEntry[] = options.allowlist ? await loadAllowlist(reader, options.allowlist) : [];
  const retired = retiredCommands(options.retiredCommands);
  const load = () => {
    // A fresh reader each time: --fix changes files between the two loads.
    const tree = loadDocsTree(options.root, docsDir, { readmes: options.readmes, exclude: options.exclude ?? DEFAULT_EXCLUDE, reader: new TreeReader(options.root) });
    const input: DocsCheckInput = {
      ...tree,
      docsDir,
      graph: options.graph,
      moved: options.moved,
      retired,
      stubMaxWords: options.stubMaxWords,
      disabledRules: options.disabledRules,
    };
    return checkDocs(input);
  };
  let result = load();
  const messages = [...result.notes];
  const fixed: TextEdit[] = [];
  if (options.fix) {
    const edits = result.findings.flatMap((f) => (f.edit ? [f.edit] : []));
    for (const [file, fileEdits] of editsByFile(edits)) {
      const read = reader.read(file);
      if (read.text === undefined) {
        messages.push(`${file}: not fixed: it ${read.problem}.`);
        continue;
      }
      const { text, applied, skipped } = applyEdits(read.text, fileEdits);
      // The real path: a page that is a symlink inside the repository stays a symlink.
      if (text !== read.text) writeFileAtomic(read.real, text);
      for (const edit of applied) fixed.push(edit);
      for (const s of skipped) messages.push(`${s.file}:${s.line}: could not find "${s.from}" to replace; fix it by hand.`);
    }
    if (fixed.length) {
      messages.push(`Fixed ${fixed.length} finding(s) in ${new Set(fixed.map((e) => e.file)).size} file(s).`);
      result = load();
    }
  }
  const { kept, unused } = applyAllowlist(result.findings.map(toFinding), allowlist);
  for (const entry of unused) messages.push(`${options.allowlist}: entry ${entry.rule} ${entry.path} ${entry.hash} matches nothing; remove it.`);
  const report = formatReport(options.format ?? 'text', kept, { name: 'nx-nixos docs-check', version: '0.1.0', rules: DOCS_RULES });
  return { exitCode: exitCodeFor(kept, options.failLevel ?? 'error'), report, messages, findings: kept, fixed };
}
