import type { Finding } from '../../report/finding';
import { HYGIENE_RULE_TABLE } from './rules';
import { shellQuote } from './text';

export type ImageKind = 'qcow2' | 'qcow' | 'vmdk' | 'vdi' | 'vhd' | 'vhdx' | 'iso' | 'raw';

/** Bytes of a file's start needed by imageKind(); ISO 9660 needs the bytes at ISO_MAGIC_OFFSET too. */
export const HEAD_BYTES = 80;
export const ISO_MAGIC_OFFSET = 0x8001;

const EXTENSIONS: Record<string, ImageKind> = {
  qcow2: 'qcow2',
  qcow: 'qcow',
  vmdk: 'vmdk',
  vdi: 'vdi',
  vhd: 'vhd',
  vhdx: 'vhdx',
  iso: 'iso',
  raw: 'raw',
  img: 'raw',
};

/** The disk image format of a file, by magic bytes first (whatever its name), else by extension. */
export function imageKind(path: string, head: Buffer, isoMagic?: Buffer): ImageKind | undefined {
  if (head.length >= 4 && head[0] === 0x51 && head[1] === 0x46 && head[2] === 0x49 && head[3] === 0xfb) {
    return head.length >= 8 && head.readUInt32BE(4) === 1 ? 'qcow' : 'qcow2';
  }
  const ascii = head.toString('latin1', 0, Math.min(head.length, 64));
  if (ascii.startsWith('KDMV') || ascii.startsWith('# Disk DescriptorFile')) return 'vmdk';
  if (head.length >= 0x44 && head.readUInt32LE(0x40) === 0xbeda107f) return 'vdi';
  if (ascii.startsWith('vhdxfile')) return 'vhdx';
  if (ascii.startsWith('conectix')) return 'vhd';
  if (isoMagic && isoMagic.toString('latin1', 0, 5) === 'CD001') return 'iso';
  const dot = path.lastIndexOf('.');
  return dot > path.lastIndexOf('/') ? EXTENSIONS[path.slice(dot + 1).toLowerCase()] : undefined;
}

export const isUnder = (file: string, dir: string) => file === dir || file.startsWith(`${dir.replace(/\/+$/, '')}/`);

/** image/committed (tracked) or image/untracked (in the working tree only), with the command that moves it. */
export function imageFinding(file: string, kind: ImageKind, tracked: boolean, artifactsDir: string): Finding | undefined {
  if (isUnder(file, artifactsDir)) return undefined;
  const base = file.slice(file.lastIndexOf('/') + 1);
  const target = `${artifactsDir}/images/${base}`;
  const move = `mkdir -p ${shellQuote(`${artifactsDir}/images`)} && mv -- ${shellQuote(file)} ${shellQuote(target)}`;
  if (tracked) {
    return {
      rule: 'image/committed',
      severity: HYGIENE_RULE_TABLE['image/committed'].severity,
      file,
      message: `A ${kind} disk image is committed.`,
      fix: `git rm --cached -q -- ${shellQuote(file)} && ${move} (then purge it from history if it was pushed: git filter-repo --invert-paths --path ${shellQuote(file)})`,
      subject: `${kind} ${file}`,
    };
  }
  return {
    rule: 'image/untracked',
    severity: HYGIENE_RULE_TABLE['image/untracked'].severity,
    file,
    message: `A ${kind} disk image lies outside ${artifactsDir}/.`,
    fix: move,
    subject: `${kind} ${file}`,
  };
}

const MiB = 1024 * 1024;
const formatMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

export interface SizeLimits {
  largeFileWarnMiB: number;
  largeFileErrorMiB: number;
  newFileBudgetMiB: number;
}

/** size/large and size/large-new for a committed file that is not LFS-tracked. */
export function sizeFindings(file: string, size: number, addedSinceBase: boolean, limits: SizeLimits): Finding[] {
  const lfs = `git lfs track ${shellQuote(file)} && git rm --cached -q -- ${shellQuote(file)} && git add .gitattributes ${shellQuote(file)}`;
  const subject = `${file} ${size}`;
  if (addedSinceBase && size > limits.newFileBudgetMiB * MiB && size <= limits.largeFileErrorMiB * MiB) {
    return [
      {
        rule: 'size/large-new',
        severity: 'error',
        file,
        message: `New file of ${formatMiB(size)} is above the ${limits.newFileBudgetMiB} MiB budget for files added since the base ref.`,
        fix: `Track it with Git LFS (${lfs}) or keep it out of Git.`,
        subject,
      },
    ];
  }
  if (size > limits.largeFileErrorMiB * MiB || size > limits.largeFileWarnMiB * MiB) {
    const error = size > limits.largeFileErrorMiB * MiB;
    return [
      {
        rule: 'size/large',
        severity: error ? 'error' : 'warning',
        file,
        message: `File of ${formatMiB(size)} is above the ${error ? limits.largeFileErrorMiB : limits.largeFileWarnMiB} MiB ${error ? 'limit' : 'warning threshold'} and not tracked by Git LFS.`,
        fix: `Track it with Git LFS (${lfs}) or keep it out of Git.`,
        subject,
      },
    ];
  }
  return [];
}

const LFS_POINTER = /^version https:\/\/(git-lfs\.github\.com\/spec\/v1|hawser\.github\.com\/spec\/v1)\n(?:[a-z0-9.-]+ [^\n]*\n)*$/;

/** True for a Git LFS pointer file: small, the spec's version line, an sha256 oid and a size. */
export function isLfsPointer(content: Buffer | string): boolean {
  if (content.length >= 1024) return false;
  const text = typeof content === 'string' ? content : content.toString('utf8');
  return LFS_POINTER.test(text) && /\noid sha256:[0-9a-f]{64}\n/.test(text) && /\nsize \d+\n/.test(text);
}

export function lfsPointerFinding(file: string, blobSize: number): Finding {
  return {
    rule: 'lfs/not-pointer',
    severity: HYGIENE_RULE_TABLE['lfs/not-pointer'].severity,
    file,
    message: `.gitattributes sends this file to Git LFS, but ${formatMiB(blobSize)} of raw content is committed instead of an LFS pointer.`,
    fix: `git lfs install && git rm --cached -q -- ${shellQuote(file)} && git add -- ${shellQuote(file)} (git lfs migrate import --include=${shellQuote(file)} rewrites history)`,
    subject: `${file} raw`,
  };
}

/** artifacts/tracked: anything but the README committed under the artifacts folder. */
export function artifactFinding(file: string, artifactsDir: string): Finding | undefined {
  if (!isUnder(file, artifactsDir) || file === `${artifactsDir}/README.md`) return undefined;
  return {
    rule: 'artifacts/tracked',
    severity: HYGIENE_RULE_TABLE['artifacts/tracked'].severity,
    file,
    message: `Only ${artifactsDir}/README.md belongs in Git; build outputs under ${artifactsDir}/ are ignored.`,
    fix: `git rm --cached -q -- ${shellQuote(file)}`,
    subject: file,
  };
}
