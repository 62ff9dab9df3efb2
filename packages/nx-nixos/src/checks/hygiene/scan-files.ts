import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../../git/git';
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
import { checkSopsFile } from './sops';
import { checkLegacyReferences, legacyMatcher } from './stale';
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
}

export interface FileScanResult {
  findings: Finding[];
  textFiles: number;
  /** Listed files that are not in the working tree (deleted since they were added to the index). */
  missing: string[];
}

const MiB = 1024 * 1024;
// No symlink is followed (a link is not content of its own); a FIFO never blocks the scan.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** The first read of a file whose content is scanned; the buffer never gets smaller. */
const FIRST_READ = 64 * 1024;

/** Index blob of an LFS-tracked file that is not a pointer in the working tree: raw content, or a smudged pointer? */
function committedRaw(root: string, file: string): number | undefined {
  const entry = git(root, ['ls-files', '-s', '-z', '--', file]).split('\0')[0];
  const oid = entry?.split(/\s+/)[1];
  if (!oid) return undefined;
  const size = Number(git(root, ['cat-file', '-s', oid]).trim());
  if (size >= 1024) return size;
  return isLfsPointer(git(root, ['cat-file', 'blob', oid])) ? undefined : size;
}

/**
 * Checks files one by one with one buffer per thread: open, read what the rules need (the whole file
 * when its content is scanned, else the bytes that tell a disk image), close; fstat only for files
 * larger than the first read or not scanned.
 */
export function createFileChecker(ctx: FileScanContext): (file: string, state: FileState, out: FileScanResult) => void {
  const { root, options } = ctx;
  const enabled = (rule: HygieneRuleId) => options.rules[rule] !== 'off';
  const lfs = new Set(ctx.lfs);
  const sopsFiles = new Set(ctx.sopsFiles);
  const added = new Set(ctx.added);
  const exclude = options.exclude.map(globToRegExp);
  const excluded = (file: string) => exclude.some((re) => re.test(file));
  const matcher = enabled('stale/legacy-reference') ? legacyMatcher(options.legacyFolders) : undefined;
  const contentRules = enabled('secret/nix-plaintext') || enabled('secret/private-key') || enabled('secret/token') || matcher !== undefined;
  const maxScanBytes = options.maxScanKiB * 1024;
  const limits = { largeFileWarnMiB: options.largeFileWarnMiB, largeFileErrorMiB: options.largeFileErrorMiB, newFileBudgetMiB: options.newFileBudgetMiB };
  const sizeFloor = Math.min(options.largeFileWarnMiB, options.newFileBudgetMiB) * MiB;
  let buffer = Buffer.allocUnsafe(FIRST_READ);
  const isoMagic = Buffer.alloc(5);

  return (file, state, out) => {
    const wantText = state !== IGNORED && !lfs.has(file) && (sopsFiles.has(file) || (contentRules && !excluded(file)));
    const scanContent = wantText && contentRules && !excluded(file);
    let fd: number;
    try {
      fd = openSync(join(root, file), OPEN_FLAGS);
    } catch (e) {
      // ELOOP: a symlink, not followed.
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') out.missing.push(file);
      return;
    }
    let size: number | undefined;
    let length = 0;
    let hasIsoMagic = false;
    let whole = false;
    try {
      if (wantText) {
        // Most files are small: one read, and a short read is the whole file (no fstat).
        const first = Math.min(maxScanBytes + 1, FIRST_READ);
        length = readSync(fd, buffer, 0, first, 0);
        if (length < first) {
          size = length;
          whole = true;
        }
      }
      if (size === undefined) {
        const stat = fstatSync(fd);
        if (!stat.isFile()) return;
        size = stat.size;
        whole = wantText && size <= maxScanBytes;
        // An LFS-tracked file is read whole only when it may be a pointer.
        const want = whole || (lfs.has(file) && size < 1024) ? size : Math.min(HEAD_BYTES, size);
        if (buffer.length < want) {
          const grown = Buffer.allocUnsafe(Math.max(want, buffer.length * 2));
          buffer.copy(grown, 0, 0, length);
          buffer = grown;
        }
        while (length < want) {
          const n = readSync(fd, buffer, length, want - length, length);
          if (n === 0) break;
          length += n;
        }
      }
      if (size > ISO_MAGIC_OFFSET + 5) {
        if (length >= ISO_MAGIC_OFFSET + 5) buffer.copy(isoMagic, 0, ISO_MAGIC_OFFSET, ISO_MAGIC_OFFSET + 5);
        else readSync(fd, isoMagic, 0, 5, ISO_MAGIC_OFFSET);
        hasIsoMagic = true;
      }
    } catch (e) {
      // A folder (a submodule) or a FIFO in place of a file: nothing to read.
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'EAGAIN') return;
      throw e;
    } finally {
      closeSync(fd);
    }
    const head = buffer.subarray(0, Math.min(HEAD_BYTES, length));
    const kind = imageKind(file, head, hasIsoMagic ? isoMagic : undefined);
    const image = kind && imageFinding(file, kind, state === TRACKED, options.artifactsDir);
    if (image) out.findings.push(image);
    if (state === TRACKED) {
      const artifact = artifactFinding(file, options.artifactsDir);
      if (artifact) out.findings.push(artifact);
      if (lfs.has(file)) {
        // With git-lfs installed the working tree holds the real content and the index the pointer: ask the index.
        const pointerInTree = size < 1024 && isLfsPointer(buffer.subarray(0, length));
        const raw = pointerInTree ? undefined : committedRaw(root, file);
        if (raw !== undefined) out.findings.push(lfsPointerFinding(file, raw));
      } else if (!image && !artifact && size > sizeFloor) {
        out.findings.push(...sizeFindings(file, size, added.has(file), limits));
      }
    }
    if (!whole || buffer.subarray(0, Math.min(length, 8000)).includes(0)) return;
    out.textFiles++;
    const text = buffer.toString('utf8', 0, length);
    if (sopsFiles.has(file)) out.findings.push(...checkSopsFile(file, text));
    if (!scanContent) return;
    if (file.endsWith('.nix') && enabled('secret/nix-plaintext')) out.findings.push(...checkNixPlaintext(file, text));
    if (enabled('secret/private-key')) out.findings.push(...checkPrivateKeys(file, text));
    if (enabled('secret/token')) out.findings.push(...checkTokens(file, text));
    if (matcher) out.findings.push(...checkLegacyReferences(file, text, options.legacyFolders, matcher));
  };
}
