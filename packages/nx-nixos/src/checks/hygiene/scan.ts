import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, isGitRepository } from '../../git/git';
import type { Finding } from '../../report/finding';
import type { HygieneOptions } from './options';
import type { HygieneRuleId } from './rules';
import { IGNORED, UNTRACKED, type FileScanContext } from './scan-files';
import { checkFiles, type ThreadTuning } from './scan-threads';
import { profilePathspecs } from './scope';
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
    throw new Error(`baseRef "${baseRef}": no merge base with HEAD (${(e as Error).message}). Fetch the ref or pass another baseRef.`);
  }
  return new Set(splitZ(git(root, ['diff', '--cached', '-z', '--name-only', '--diff-filter=A', base])));
}

/** Lists the files of the scope with git, reads each once, and runs every enabled rule. */
export function scanRepository(root: string, options: HygieneOptions, tuning?: ThreadTuning): ScanResult {
  if (!isGitRepository(root)) throw new Error(`${root} is not a Git working tree: hygiene lists files with git ls-files. Run it inside the repository.`);
  const enabled = (rule: HygieneRuleId) => options.rules[rule] !== 'off';
  const notes: string[] = [];

  let pathspecs: string[] = [];
  if (options.scope === 'profile') {
    if (!options.profileRoot) throw new Error('scope "profile" needs profileRoot (the profile folder); run it as nx run <profile>:hygiene.');
    pathspecs = profilePathspecs(options.profileRoot, options.profilePaths);
  }
  const withUntracked = options.scope === 'repo' && options.untracked;
  // One listing for tracked and untracked files; -t tags them ("? " untracked). Tracked files deleted
  // from the working tree are dropped when the scan cannot open them.
  let tracked: string[] = [];
  const untracked: string[] = [];
  if (withUntracked) {
    for (const entry of splitZ(git(root, ['ls-files', '-z', '-t', '--cached', '--others', '--exclude-standard']))) (entry[0] === '?' ? untracked : tracked).push(entry.slice(2));
  } else tracked = splitZ(git(root, ['ls-files', '-z', '--cached', '--', ...pathspecs]));
  // An unmerged file is listed once per stage.
  tracked = [...new Set(tracked)];
  // --directory: an ignored folder (node_modules/) is one entry and is not walked; ignored files are listed one by one.
  const ignored = withUntracked
    ? splitZ(git(root, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory'])).filter((f) => !f.endsWith('/'))
    : [];

  const gitattributes = tracked.filter((f) => f === '.gitattributes' || f.endsWith('/.gitattributes'));
  // A profile's scope is small and seldom holds the .gitattributes that apply to it: ask git about every file.
  const mayUseLfs = options.scope === 'profile' || gitattributes.some((f) => {
    try {
      return readFileSync(join(root, f), 'utf8').includes('filter=lfs');
    } catch {
      return false;
    }
  });
  const lfs = mayUseLfs ? lfsTracked(root, tracked) : new Set<string>();
  const added = options.baseRef && enabled('size/large-new') ? addedSince(root, options.baseRef) : new Set<string>();

  let sopsFiles = new Set<string>();
  if (enabled('secret/sops-plaintext') || enabled('secret/sops-metadata')) {
    const candidates = [...tracked, ...untracked];
    const known = new Set(candidates);
    sopsFiles = new Set(options.sopsFiles.filter((f) => known.has(f)));
    // A profile's scope rarely holds .sops.yaml, but its creation rules still say which files are SOPS files.
    if (options.scope === 'profile' ? existsSync(join(root, '.sops.yaml')) : known.has('.sops.yaml')) {
      for (const f of sopsRuleMatches(readFileSync(join(root, '.sops.yaml'), 'utf8'), candidates)) sopsFiles.add(f);
    }
  }

  const ctx: FileScanContext = { root, options, lfs: [...lfs], sopsFiles: [...sopsFiles], added: [...added] };
  const files = [...tracked, ...untracked, ...ignored];
  const states = new Uint8Array(files.length);
  states.fill(UNTRACKED, tracked.length, tracked.length + untracked.length).fill(IGNORED, tracked.length + untracked.length);
  const checked = checkFiles(ctx, files, states, tuning);

  const findings = checked.findings.flatMap((f) => {
    const level = options.rules[f.rule as HygieneRuleId];
    if (level === 'off') return [];
    return [level ? { ...f, severity: level } : f];
  });
  const missing = new Set(checked.missing);
  return { findings, files: missing.size ? files.filter((f) => !missing.has(f)) : files, textFiles: checked.textFiles, notes };
}
