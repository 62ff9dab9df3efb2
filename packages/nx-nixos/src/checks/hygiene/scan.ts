import { closeSync, lstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { git, isGitRepository } from '../../git/git';
import type { Finding } from '../../report/finding';
import { globToRegExp } from '../docs/load';
import {
  HEAD_BYTES,
  ISO_MAGIC_OFFSET,
  artifactFinding,
  imageFinding,
  imageKind,
  isLfsPointer,
  lfsPointerFinding,
  sizeFindings,
} from './files';
import { checkNixPlaintext } from './nix';
import type { HygieneOptions } from './options';
import type { HygieneRuleId } from './rules';
import { checkSopsFile, sopsRuleMatches } from './sops';
import { checkLegacyReferences, legacyMatcher } from './stale';
import { checkPrivateKeys, checkTokens } from './tokens';

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

interface FileData {
  size: number;
  head: Buffer;
  isoMagic?: Buffer;
  /** The whole content, when small enough to scan and not binary. */
  text?: string;
}

function readFile(path: string, maxScanBytes: number, wantText: boolean): FileData | undefined {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  if (wantText && stat.size <= maxScanBytes) {
    const content = readFileSync(path);
    const head = content.subarray(0, HEAD_BYTES);
    const isoMagic = content.length > ISO_MAGIC_OFFSET + 5 ? content.subarray(ISO_MAGIC_OFFSET, ISO_MAGIC_OFFSET + 5) : undefined;
    const binary = content.subarray(0, 8000).includes(0);
    return { size: stat.size, head, isoMagic, text: binary ? undefined : content.toString('utf8') };
  }
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(HEAD_BYTES, stat.size));
    readSync(fd, head, 0, head.length, 0);
    let isoMagic: Buffer | undefined;
    if (stat.size > ISO_MAGIC_OFFSET + 5) {
      isoMagic = Buffer.alloc(5);
      readSync(fd, isoMagic, 0, 5, ISO_MAGIC_OFFSET);
    }
    return { size: stat.size, head, isoMagic };
  } finally {
    closeSync(fd);
  }
}

/** Index blob of an LFS-tracked file that is not a pointer in the working tree: raw content, or a smudged pointer? */
function committedRaw(root: string, file: string): number | undefined {
  const entry = git(root, ['ls-files', '-s', '-z', '--', file]).split('\0')[0];
  const oid = entry?.split(/\s+/)[1];
  if (!oid) return undefined;
  const size = Number(git(root, ['cat-file', '-s', oid]).trim());
  if (size >= 1024) return size;
  return isLfsPointer(git(root, ['cat-file', 'blob', oid])) ? undefined : size;
}

/** Lists the files of the scope with git, reads each once, and runs every enabled rule. */
export function scanRepository(root: string, options: HygieneOptions): ScanResult {
  if (!isGitRepository(root)) throw new Error(`${root} is not a Git working tree: hygiene lists files with git ls-files. Run it inside the repository.`);
  const enabled = (rule: HygieneRuleId) => options.rules[rule] !== 'off';
  const notes: string[] = [];

  let pathspecs: string[] = [];
  if (options.scope === 'profile') {
    if (!options.profileRoot) throw new Error('scope "profile" needs profileRoot (the profile folder); run it as nx run <profile>:hygiene.');
    pathspecs = [`:(glob)${options.profileRoot}/**`, ...options.profilePaths.map((p) => `:(glob)${p}`)];
  }
  const deleted = new Set(splitZ(git(root, ['ls-files', '-z', '--deleted', '--', ...pathspecs])));
  const tracked = splitZ(git(root, ['ls-files', '-z', '--cached', '--', ...pathspecs])).filter((f) => !deleted.has(f));
  const withUntracked = options.scope === 'repo' && options.untracked;
  const untracked = withUntracked ? splitZ(git(root, ['ls-files', '-z', '--others', '--exclude-standard'])) : [];
  // --directory: an ignored folder (node_modules/) is one entry and is not walked; ignored files are listed one by one.
  const ignored = withUntracked
    ? splitZ(git(root, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory'])).filter((f) => !f.endsWith('/'))
    : [];

  const exclude = options.exclude.map(globToRegExp);
  const excluded = (file: string) => exclude.some((re) => re.test(file));
  const matcher = enabled('stale/legacy-reference') ? legacyMatcher(options.legacyFolders) : undefined;
  const contentRules = enabled('secret/nix-plaintext') || enabled('secret/private-key') || enabled('secret/token') || matcher !== undefined;

  const gitattributes = tracked.filter((f) => f === '.gitattributes' || f.endsWith('/.gitattributes'));
  const mayUseLfs = gitattributes.some((f) => {
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
    if (known.has('.sops.yaml')) {
      for (const f of sopsRuleMatches(readFileSync(join(root, '.sops.yaml'), 'utf8'), candidates)) sopsFiles.add(f);
    }
  }

  const MiB = 1024 * 1024;
  const limits = { largeFileWarnMiB: options.largeFileWarnMiB, largeFileErrorMiB: options.largeFileErrorMiB, newFileBudgetMiB: options.newFileBudgetMiB };
  const findings: Finding[] = [];
  let textFiles = 0;

  const visit = (file: string, state: 'tracked' | 'untracked' | 'ignored') => {
    const wantText = state !== 'ignored' && !lfs.has(file) && (sopsFiles.has(file) || (contentRules && !excluded(file)));
    const scanContent = wantText && contentRules && !excluded(file);
    const data = readFile(join(root, file), options.maxScanKiB * 1024, wantText);
    if (!data) return;
    const kind = imageKind(file, data.head, data.isoMagic);
    const image = kind && imageFinding(file, kind, state === 'tracked', options.artifactsDir);
    if (image) findings.push(image);
    if (state === 'tracked') {
      const artifact = artifactFinding(file, options.artifactsDir);
      if (artifact) findings.push(artifact);
      if (lfs.has(file)) {
        // With git-lfs installed the working tree holds the real content and the index the pointer: ask the index.
        const pointerInTree = data.size < 1024 && isLfsPointer(readFileSync(join(root, file)));
        const raw = pointerInTree ? undefined : committedRaw(root, file);
        if (raw !== undefined) findings.push(lfsPointerFinding(file, raw));
      } else if (!image && !artifact && data.size > Math.min(options.largeFileWarnMiB, options.newFileBudgetMiB) * MiB) {
        findings.push(...sizeFindings(file, data.size, added.has(file), limits));
      }
    }
    if (data.text === undefined) return;
    textFiles++;
    const text = data.text;
    if (sopsFiles.has(file)) findings.push(...checkSopsFile(file, text));
    if (!scanContent) return;
    if (file.endsWith('.nix') && enabled('secret/nix-plaintext')) findings.push(...checkNixPlaintext(file, text));
    if (enabled('secret/private-key')) findings.push(...checkPrivateKeys(file, text));
    if (enabled('secret/token')) findings.push(...checkTokens(file, text));
    if (matcher) findings.push(...checkLegacyReferences(file, text, options.legacyFolders, matcher));
  };
  for (const f of tracked) visit(f, 'tracked');
  for (const f of untracked) visit(f, 'untracked');
  for (const f of ignored) visit(f, 'ignored');

  const result = findings.flatMap((f) => {
    const level = options.rules[f.rule as HygieneRuleId];
    if (level === 'off') return [];
    return [level ? { ...f, severity: level } : f];
  });
  return { findings: result, files: [...tracked, ...untracked, ...ignored], textFiles, notes };
}
