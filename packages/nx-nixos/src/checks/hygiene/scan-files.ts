import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../../git/git';
import { glob } from '../../glob/glob';
import type { Finding } from '../../report/finding';
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
import { bytesPathspec, gitPath, shellQuoteBytes, unquoteGitPath } from './paths';
import type { HygieneRuleId } from './rules';
import { checkSopsFile } from './sops';
import { checkLegacyReferences, legacyMatcher } from './stale';
import { shellQuote } from './text';
import { checkPrivateKeys, checkTokens } from './tokens';

export const TRACKED = 0;
export const UNTRACKED = 1;
export const IGNORED = 2;
export type FileState = typeof TRACKED | typeof UNTRACKED | typeof IGNORED;

/** What every thread that checks files needs: plain data, so it crosses to a worker as it is. */
export interface FileScanContext {
  root: string;
  options: HygieneOptions;
  /** Files whose `filter` attribute is `lfs`. */
  lfs: string[];
  sopsFiles: string[];
  /** Files added since the base ref (size/large-new). */
  added: string[];
  /** Printed name -> bytes (hex) of the files whose names are not plain UTF-8. */
  rawNames: Record<string, string>;
}

export interface FileScanResult {
  findings: Finding[];
  textFiles: number;
  /** Listed files that are not in the working tree (deleted since they were added to the index). */
  missing: string[];
  /** Listed paths that were not read, each with the reason: [file, reason]. */
  skipped: Array<[string, string]>;
}

export const emptyResult = (): FileScanResult => ({ findings: [], textFiles: 0, missing: [], skipped: [] });

const MiB = 1024 * 1024;
// No symlink is followed (a link is not content of its own); a FIFO never blocks the open.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** The first size of the read buffer; it grows for larger files and never gets smaller. */
const FIRST_READ = 64 * 1024;

/** Index blob of an LFS-tracked file that is not a pointer in the working tree: raw content, or a smudged pointer? */
function committedRaw(root: string, file: string, raw: Buffer | undefined): number | undefined {
  let oid: string | undefined;
  if (raw) {
    // A name that is not UTF-8 cannot be passed as it is: match it with a glob, then compare the bytes.
    for (const line of git(root, ['-c', 'core.quotePath=true', 'ls-files', '-s', '--', bytesPathspec(raw)]).split('\n')) {
      const tab = line.indexOf('\t');
      if (tab !== -1 && unquoteGitPath(line.slice(tab + 1)).equals(raw)) oid = line.split(/\s+/)[1];
    }
  } else oid = git(root, ['ls-files', '-s', '-z', '--', file]).split('\0')[0]?.split(/\s+/)[1];
  if (!oid) return undefined;
  const size = Number(git(root, ['cat-file', '-s', oid]).trim());
  if (size >= 1024) return size;
  return isLfsPointer(git(root, ['cat-file', 'blob', oid])) ? undefined : size;
}

/**
 * The first folder of `dir` (workspace-relative) that is a symbolic link, as the user would name it;
 * undefined when none is (the real path differed only in letter case, on a case-insensitive disk).
 */
function firstLinkedFolder(realRoot: string, dir: string | Buffer): string | undefined {
  const parts = typeof dir === 'string' ? dir.split('/') : gitPath(dir).name.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    try {
      if (lstatSync(typeof dir === 'string' ? join(realRoot, prefix) : Buffer.concat([Buffer.from(`${realRoot}/`), dir.subarray(0, byteOffsetOfSegment(dir, i))])).isSymbolicLink()) return prefix;
    } catch {
      return prefix;
    }
  }
  return undefined;
}

/** Byte length of the first `segments` segments of a raw path. */
function byteOffsetOfSegment(raw: Buffer, segments: number): number {
  let seen = 0;
  for (let i = 0; i < raw.length; i++) if (raw[i] === 0x2f && ++seen === segments) return i;
  return raw.length;
}

const NOT_READ = {
  denied: 'cannot be read (permission denied); it was not checked. Make it readable (chmod u+r) or run hygiene as its owner.',
  special: 'is not a regular file (a FIFO, socket or device); it was not read.',
  submodule: 'a Git submodule; its files are not checked (run hygiene inside it).',
  nested: 'a nested Git repository (not tracked); its files are not checked.',
  sopsLink: 'a SOPS file that is a symbolic link; it was not read (hygiene does not follow links). Check the file it points to.',
};

/**
 * Checks files one by one with one buffer per thread: open (never through a symlink, never a folder
 * that is a symlink on the way), fstat (regular files only), read what the rules need (the whole file
 * when its content is scanned, else the bytes that tell a disk image), close.
 */
export function createFileChecker(ctx: FileScanContext): (file: string, state: FileState, out: FileScanResult) => void {
  const { root, options } = ctx;
  const realRoot = realpathSync.native(root);
  const realRootBytes = Buffer.from(`${realRoot}/`);
  const enabled = (rule: HygieneRuleId) => options.rules[rule] !== 'off';
  const lfs = new Set(ctx.lfs);
  const sopsFiles = new Set(ctx.sopsFiles);
  const added = new Set(ctx.added);
  const rawNames = new Map(Object.entries(ctx.rawNames).map(([name, hex]) => [name, Buffer.from(hex, 'hex')]));
  const exclude = options.exclude.map(glob);
  const excluded = (file: string) => exclude.some((re) => re.test(file));
  const matcher = enabled('stale/legacy-reference') ? legacyMatcher(options.legacyFolders) : undefined;
  const contentRules = enabled('secret/nix-plaintext') || enabled('secret/private-key') || enabled('secret/token') || matcher !== undefined;
  const maxScanBytes = options.maxScanKiB * 1024;
  const limits = { largeFileWarnMiB: options.largeFileWarnMiB, largeFileErrorMiB: options.largeFileErrorMiB, newFileBudgetMiB: options.newFileBudgetMiB };
  const sizeFloor = Math.min(options.largeFileWarnMiB, options.newFileBudgetMiB) * MiB;
  let buffer = Buffer.allocUnsafe(FIRST_READ);
  const isoMagic = Buffer.alloc(5);

  // Folder -> undefined when it is the real folder inside the root, else why its files are not read.
  const folders = new Map<string, 'missing' | 'denied' | { link: string } | undefined>();
  const folderState = (file: string, raw: Buffer | undefined) => {
    const slash = file.lastIndexOf('/', file.endsWith('/') ? file.length - 2 : file.length);
    if (slash === -1) return undefined;
    const dir = file.slice(0, slash);
    if (folders.has(dir)) return folders.get(dir);
    let state: 'missing' | 'denied' | { link: string } | undefined;
    const rawDir = raw?.subarray(0, raw.lastIndexOf(0x2f, raw[raw.length - 1] === 0x2f ? raw.length - 2 : raw.length));
    try {
      let same: boolean;
      if (rawDir) {
        const expected = Buffer.concat([realRootBytes, rawDir]);
        same = realpathSync.native(expected, { encoding: 'buffer' }).equals(expected);
      } else same = realpathSync.native(`${realRoot}/${dir}`) === `${realRoot}/${dir}`;
      const link = same ? undefined : firstLinkedFolder(realRoot, rawDir ?? dir);
      if (link !== undefined) state = { link };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      state = code === 'EACCES' || code === 'EPERM' ? 'denied' : 'missing';
    }
    folders.set(dir, state);
    return state;
  };

  return (file, state, out) => {
    const raw = rawNames.get(file);
    const folder = folderState(file, raw);
    if (folder === 'missing') {
      out.missing.push(file);
      return;
    }
    if (folder === 'denied') {
      out.skipped.push([file, NOT_READ.denied]);
      return;
    }
    if (folder) {
      out.skipped.push([file, `not read: ${folder.link} is a symbolic link (hygiene, like Git, does not follow links).`]);
      return;
    }
    const wantText = state !== IGNORED && !lfs.has(file) && (sopsFiles.has(file) || (contentRules && !excluded(file)));
    const scanContent = wantText && contentRules && !excluded(file);
    let fd: number;
    try {
      fd = openSync(raw ? Buffer.concat([realRootBytes, raw]) : `${realRoot}/${file}`, OPEN_FLAGS);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') out.missing.push(file);
      else if (code === 'EACCES' || code === 'EPERM') out.skipped.push([file, NOT_READ.denied]);
      else if (code === 'ELOOP') {
        // A symlink: not followed, and its target is checked where it lies if it is in the tree.
        if (sopsFiles.has(file)) out.skipped.push([file, NOT_READ.sopsLink]);
      } else out.skipped.push([file, NOT_READ.special]);
      return;
    }
    let size: number;
    let length = 0;
    let hasIsoMagic = false;
    let whole: boolean;
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) {
        out.skipped.push([file, state === TRACKED ? NOT_READ.submodule : NOT_READ.nested]);
        return;
      }
      if (!stat.isFile()) {
        out.skipped.push([file, NOT_READ.special]);
        return;
      }
      size = stat.size;
      whole = wantText && size <= maxScanBytes;
      if (sopsFiles.has(file) && !whole && state !== IGNORED && !lfs.has(file))
        out.skipped.push([file, `a SOPS file larger than maxScanKiB (${options.maxScanKiB} KiB); it was not checked. Raise maxScanKiB to check it.`]);
      // An LFS-tracked file is read whole only when it may be a pointer.
      const want = whole || (lfs.has(file) && size < 1024) ? size : Math.min(HEAD_BYTES, size);
      if (buffer.length < want) buffer = Buffer.allocUnsafe(Math.max(want, buffer.length * 2));
      while (length < want) {
        const n = readSync(fd, buffer, length, want - length, length);
        if (n === 0) break;
        length += n;
      }
      if (length < want) whole = false;
      if (size > ISO_MAGIC_OFFSET + 5) {
        if (length >= ISO_MAGIC_OFFSET + 5) buffer.copy(isoMagic, 0, ISO_MAGIC_OFFSET, ISO_MAGIC_OFFSET + 5);
        else readSync(fd, isoMagic, 0, 5, ISO_MAGIC_OFFSET);
        hasIsoMagic = true;
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') out.skipped.push([file, NOT_READ.denied]);
      else out.skipped.push([file, `could not be read (${code ?? (e as Error).message}); it was not checked.`]);
      return;
    } finally {
      closeSync(fd);
    }
    const before = out.findings.length;
    const add = (finding: Finding | undefined) => {
      if (finding) out.findings.push(finding);
    };
    const addAll = (findings: readonly Finding[]) => {
      for (const finding of findings) out.findings.push(finding);
    };
    const head = buffer.subarray(0, Math.min(HEAD_BYTES, length));
    const kind = imageKind(file, head, hasIsoMagic ? isoMagic : undefined);
    const image = kind && imageFinding(file, kind, state === TRACKED, options.artifactsDir);
    add(image);
    if (state === TRACKED) {
      const artifact = artifactFinding(file, options.artifactsDir);
      add(artifact);
      if (lfs.has(file)) {
        // With git-lfs installed the working tree holds the real content and the index the pointer: ask the index.
        const pointerInTree = size < 1024 && isLfsPointer(buffer.subarray(0, length));
        const committed = pointerInTree ? undefined : committedRaw(root, file, raw);
        if (committed !== undefined) add(lfsPointerFinding(file, committed));
      } else if (!image && !artifact && size > sizeFloor) {
        addAll(sizeFindings(file, size, added.has(file), limits));
      }
    }
    if (whole && !buffer.subarray(0, Math.min(length, 8000)).includes(0)) {
      out.textFiles++;
      const text = buffer.toString('utf8', 0, length);
      if (sopsFiles.has(file)) addAll(checkSopsFile(file, text));
      if (scanContent) {
        if (file.endsWith('.nix') && enabled('secret/nix-plaintext')) addAll(checkNixPlaintext(file, text));
        if (enabled('secret/private-key')) addAll(checkPrivateKeys(file, text));
        if (enabled('secret/token')) addAll(checkTokens(file, text));
        if (matcher) addAll(checkLegacyReferences(file, text, options.legacyFolders, matcher));
      }
    }
    if (raw && out.findings.length > before) {
      // Fix commands name the file by its bytes, not by the escaped name that reports print.
      const printed = shellQuote(file);
      const exact = shellQuoteBytes(raw);
      for (let i = before; i < out.findings.length; i++) {
        const f = out.findings[i];
        if (f.fix?.includes(printed)) out.findings[i] = { ...f, fix: f.fix.split(printed).join(exact) };
      }
    }
  };
}
