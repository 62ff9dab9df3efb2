import { git, isGitRepository } from '../../git/git';
import type { Finding } from '../../report/finding';
import { readInsideWorkspace } from './fs-errors';
import type { HygieneOptions } from './options';
import { parseGitPathLines, type GitPath } from './paths';
import { redactFinding } from './redact';
import type { HygieneRuleId } from './rules';
import { IGNORED, UNTRACKED, type FileScanContext } from './scan-files';
import { checkFiles, type ThreadTuning } from './scan-threads';
import { profilePathspecs, profileScope } from './scope';
import { sopsRuleMatches } from './sops';

export interface ScanResult {
  findings: Finding[];
  /** The files looked at (workspace-relative), and how many of them were read as text. */
  files: string[];
  textFiles: number;
  /** Notes for people (stderr). */
  notes: string[];
}

const splitZ = (out: string) => out.split('\0').filter(Boolean);
const CHUNK = 2000;
/** Config files read besides the scanned ones; anything larger is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_GITATTRIBUTES_BYTES = 16 * 1024 * 1024;
/** Notes of one kind beyond this many are counted, not listed. */
const MAX_NOTES = 20;

/** Git's listing of paths, lossless: quoted names are decoded to their bytes (see paths.ts). */
const listPaths = (root: string, args: readonly string[]): GitPath[] => parseGitPathLines(git(root, ['-c', 'core.quotePath=true', ...args]));

/** Paths whose `filter` attribute is `lfs`, asked of git itself (nested .gitattributes, macros). */
function lfsTracked(root: string, files: readonly string[]): Set<string> {
  const lfs = new Set<string>();
  for (let i = 0; i < files.length; i += CHUNK) {
    const fields = splitZ(git(root, ['check-attr', '-z', 'filter', '--', ...files.slice(i, i + CHUNK)]));
    for (let j = 0; j + 2 < fields.length; j += 3) if (fields[j + 2] === 'lfs') lfs.add(fields[j]);
  }
  return lfs;
}

/** Files added (in the index) since the merge base of `baseRef` and HEAD. */
function addedSince(root: string, baseRef: string): Set<string> {
  let base: string;
  try {
    base = git(root, ['merge-base', baseRef, 'HEAD']).trim();
  } catch (e) {
    throw new Error(`baseRef "${baseRef}": no merge base with HEAD (${(e as Error).message}). Fetch the ref or pass another baseRef.`, { cause: e });
  }
  return new Set(listPaths(root, ['diff', '--cached', '--name-only', '--diff-filter=A', base]).map((p) => p.name));
}

/** Whether any .gitattributes may send files to LFS; one that cannot be read as a regular file inside the tree counts as yes (git is then asked). */
function mayUseLfs(root: string, gitattributes: readonly string[]): boolean {
  return gitattributes.some((f) => {
    try {
      return readInsideWorkspace(root, f, MAX_GITATTRIBUTES_BYTES)?.includes('filter=lfs') ?? false;
    } catch {
      return true;
    }
  });
}

/** Notes for the paths that were listed but not read, at most MAX_NOTES of each reason. */
function skippedNotes(skipped: ReadonlyArray<[string, string]>): string[] {
  const byReason = new Map<string, string[]>();
  for (const [file, reason] of skipped) {
    const files = byReason.get(reason) ?? [];
    files.push(file);
    byReason.set(reason, files);
  }
  const notes: string[] = [];
  for (const [reason, files] of byReason) {
    for (const file of files.slice(0, MAX_NOTES)) notes.push(`${file}: ${reason}`);
    if (files.length > MAX_NOTES) notes.push(`... and ${files.length - MAX_NOTES} more path(s): ${reason}`);
  }
  return notes;
}

/** Lists the files of the scope with git, reads each once, and runs every enabled rule. */
export function scanRepository(root: string, options: HygieneOptions, tuning?: ThreadTuning): ScanResult {
  if (!isGitRepository(root)) throw new Error(`${root} is not a Git working tree: hygiene lists files with git ls-files. Run it inside the repository.`);
  const enabled = (rule: HygieneRuleId) => options.rules[rule] !== 'off';

  let pathspecs: string[] = [];
  let inScope = (_file: string) => true;
  if (options.scope === 'profile') {
    if (!options.profileRoot) throw new Error('scope "profile" needs profileRoot (the profile folder); run it as nx run <profile>:hygiene.');
    pathspecs = profilePathspecs(options.profileRoot, options.profilePaths);
    inScope = profileScope(options.profileRoot, options.profilePaths);
  }
  const withUntracked = options.scope === 'repo' && options.untracked;
  const rawNames: Record<string, string> = {};
  const named = (path: GitPath) => {
    if (path.raw) rawNames[path.name] = path.raw.toString('hex');
    return path.name;
  };
  // One listing for tracked and untracked files; -t tags them ("? " untracked). Tracked files deleted
  // from the working tree are dropped when the scan cannot open them.
  let tracked: string[] = [];
  const untracked: string[] = [];
  if (withUntracked) {
    for (const line of git(root, ['-c', 'core.quotePath=true', 'ls-files', '-t', '--cached', '--others', '--exclude-standard']).split('\n')) {
      if (!line) continue;
      const [path] = parseGitPathLines(line.slice(2));
      (line[0] === '?' ? untracked : tracked).push(named(path));
    }
  } else tracked = listPaths(root, ['ls-files', '--cached', '--', ...pathspecs]).filter((p) => inScope(p.name)).map(named);
  // An unmerged file is listed once per stage.
  tracked = [...new Set(tracked)];
  // --directory: an ignored folder (node_modules/) is one entry and is not walked; ignored files are listed one by one.
  const ignored = withUntracked
    ? listPaths(root, ['ls-files', '--others', '--ignored', '--exclude-standard', '--directory']).map(named).filter((f) => !f.endsWith('/'))
    : [];

  const gitattributes = tracked.filter((f) => f === '.gitattributes' || f.endsWith('/.gitattributes'));
  // A profile's scope is small and seldom holds the .gitattributes that apply to it: ask git about every file.
  const lfs = options.scope === 'profile' || mayUseLfs(root, gitattributes) ? lfsTracked(root, tracked) : new Set<string>();
  const added = options.baseRef && enabled('size/large-new') ? addedSince(root, options.baseRef) : new Set<string>();

  let sopsFiles = new Set<string>();
  if (enabled('secret/sops-plaintext') || enabled('secret/sops-metadata')) {
    const candidates = [...tracked, ...untracked];
    const known = new Set(candidates);
    sopsFiles = new Set(options.sopsFiles.filter((f) => known.has(f)));
    // A profile's scope rarely holds .sops.yaml, but its creation rules still say which files are SOPS files.
    if (options.scope === 'profile' || known.has('.sops.yaml')) {
      // One that is a link out of the tree, a FIFO or a device stops the run: which files are SOPS files is unknown.
      const sopsYaml = readInsideWorkspace(root, '.sops.yaml', MAX_CONFIG_BYTES);
      if (sopsYaml !== undefined) for (const f of sopsRuleMatches(sopsYaml, candidates)) sopsFiles.add(f);
    }
  }

  const ctx: FileScanContext = { root, options, lfs: [...lfs], sopsFiles: [...sopsFiles], added: [...added], rawNames };
  const files = [...tracked, ...untracked, ...ignored];
  const states = new Uint8Array(files.length);
  states.fill(UNTRACKED, tracked.length, tracked.length + untracked.length).fill(IGNORED, tracked.length + untracked.length);
  const checked = checkFiles(ctx, files, states, tuning);

  const findings: Finding[] = [];
  for (const f of checked.findings) {
    const level = options.rules[f.rule as HygieneRuleId];
    if (level === 'off') continue;
    // Whatever a rule quotes, secret-shaped text leaves masked.
    findings.push(redactFinding(level ? { ...f, severity: level } : f));
  }
  const missing = new Set(checked.missing);
  for (const [file] of checked.skipped) missing.add(file);
  return { findings, files: missing.size ? files.filter((f) => !missing.has(f)) : files, textFiles: checked.textFiles, notes: skippedNotes(checked.skipped) };
}
