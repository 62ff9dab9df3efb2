import { execFile } from 'node:child_process';
import { existsSync, rmSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { vmsDir } from '../layout';

/** Below this, launching would soon fill the disk: refuse with a clear message. */
export const MIN_FREE_BYTES = 1024 ** 3;

function qemuImg(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error)
        reject(
          new Error(
            (error as NodeJS.ErrnoException).code === 'ENOENT'
              ? 'qemu-img not found on PATH: apt-get install qemu-utils'
              : `qemu-img ${args.join(' ')} failed: ${stderr.trim() || error.message}`,
          ),
        );
      else resolve(stdout);
    });
  });
}

export function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
}

export interface OverlayResult {
  created: boolean;
  /** Warnings to show (e.g. little free space). */
  warnings: string[];
}

/**
 * A copy-on-write qcow2 overlay over the read-only store image. It persists between launches; `fresh`
 * discards it. An overlay over a different base (the image was rebuilt) is never reused silently.
 */
export async function prepareOverlay(options: {
  overlay: string;
  base: string;
  baseFormat: 'qcow2' | 'raw';
  fresh?: boolean;
  diskGiB?: number;
  minFreeBytes?: number;
}): Promise<OverlayResult> {
  const warnings: string[] = [];
  if (options.fresh) rmSync(options.overlay, { force: true });
  if (existsSync(options.overlay)) {
    const info = JSON.parse(await qemuImg(['info', '--output=json', '-U', options.overlay])) as { 'backing-filename'?: string };
    if (info['backing-filename'] !== options.base)
      throw new Error(
        `The disk ${options.overlay} was created over another image (${info['backing-filename'] ?? 'none'}), not ${options.base}. ` +
          'Launch with --fresh to discard it and start from the current image.',
      );
    return { created: false, warnings };
  }
  const free = freeBytes(dirname(options.overlay));
  const min = options.minFreeBytes ?? MIN_FREE_BYTES;
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (free < min) throw new Error(`Only ${gib(free)} free on the disk of ${dirname(options.overlay)}; launching needs at least ${gib(min)}. Free some space (e.g. nix-collect-garbage, or remove old ${vmsDir()} instances).`);
  if (options.diskGiB && free < options.diskGiB * 1024 ** 3)
    warnings.push(`Only ${gib(free)} free; the VM disk may grow to ${options.diskGiB} GiB.`);
  await qemuImg(['create', '-q', '-f', 'qcow2', '-F', options.baseFormat, '-b', options.base, options.overlay]);
  return { created: true, warnings };
}
