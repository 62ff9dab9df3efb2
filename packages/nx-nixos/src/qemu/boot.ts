import { join } from 'node:path';
import type { Profile } from '../profile/schema';
import { mkdirSync, rmSync } from 'node:fs';
import { devVmEnvironment, qemuArgv, type Accelerator, type BootSpec, type PortForward, type SecretFile } from './argv';
import { prepareOverlay } from './disk';
import { QEMU_NAME_PREFIX, type InstancePaths } from './instance';

/** The image to boot: a store path and what it holds (from the build manifest the image was checked against). */
export interface BootImage {
  storePath: string;
  image:
    | { kind: 'disk'; format: 'qcow2' | 'raw'; file: string }
    | { kind: 'kernel'; kernel: string; initrd: string; cmdline: string }
    /** A development VM: its run script (inside storePath) boots the system with the host's store shared. */
    | { kind: 'dev-vm'; runScript: string };
}

export interface PreparedBoot {
  boot: BootSpec;
  /** The store disk image under the overlay (disk images only). */
  base?: string;
}

/**
 * A disk image boots from the instance's overlay over the read-only store image (kept between launches unless
 * `fresh`); a kernel image boots its kernel and initrd from the store, with `cmdline` replacing its own.
 */
export async function prepareBoot(
  { storePath, image }: { storePath: string; image: Exclude<BootImage['image'], { kind: 'dev-vm' }> },
  paths: InstancePaths,
  options: { fresh?: boolean; diskGiB: number; cmdline?: string; log: (line: string) => void; warn: (line: string) => void },
): Promise<PreparedBoot> {
  if (image.kind === 'kernel')
    return { boot: { kind: 'kernel', kernel: join(storePath, image.kernel), initrd: join(storePath, image.initrd), cmdline: options.cmdline ?? image.cmdline } };
  const base = join(storePath, image.file);
  const overlay = await prepareOverlay({ overlay: paths.overlay, base, baseFormat: image.format, fresh: options.fresh, diskGiB: options.diskGiB });
  overlay.warnings.forEach(options.warn);
  options.log(overlay.created ? `Created the disk ${paths.overlay} over ${base}.` : `Reusing the disk ${paths.overlay} (--fresh discards it).`);
  return { boot: { kind: 'disk', overlay: paths.overlay }, base };
}

/**
 * A development VM keeps its writable disk (NIX_DISK_IMAGE, which its run script creates when missing) in the
 * instance folder until `fresh`, and its TMPDIR there too.
 */
export function prepareDevVm(paths: InstancePaths, options: { fresh?: boolean; log: (line: string) => void }): void {
  if (options.fresh) rmSync(paths.devDisk, { force: true });
  rmSync(paths.devTmp, { recursive: true, force: true });
  mkdirSync(paths.devTmp, { recursive: true, mode: 0o700 });
  options.log(options.fresh ? `Starting with a fresh disk ${paths.devDisk}.` : `Writable disk: ${paths.devDisk} (kept between launches; --fresh discards it).`);
}

/** The environment a development VM's run script is started with for one instance. */
export function devVmInstanceEnvironment(spec: { profile: Profile; instance: string; accel: Accelerator; ports: readonly PortForward[]; paths: InstancePaths; secrets: readonly SecretFile[] }) {
  const { paths } = spec;
  return devVmEnvironment({
    name: `${QEMU_NAME_PREFIX}${spec.profile.name}-${spec.instance}`,
    accel: spec.accel,
    ports: spec.ports,
    qmpSocket: paths.qmpSocket,
    serialLog: paths.serialLog,
    pidfile: paths.pidfile,
    secrets: spec.secrets,
    disk: paths.devDisk,
    tmpDir: paths.devTmp,
  });
}

/** The QEMU command line of one instance: named so that its processes can be recognised, daemonized, with its pidfile, QMP socket and serial log. */
export function instanceArgv(spec: {
  profile: Profile;
  instance: string;
  accel: Accelerator;
  boot: BootSpec;
  ports: readonly PortForward[];
  paths: InstancePaths;
  secrets: readonly SecretFile[];
}): string[] {
  const { profile, paths } = spec;
  return qemuArgv({
    name: `${QEMU_NAME_PREFIX}${profile.name}-${spec.instance}`,
    accel: spec.accel,
    memoryMiB: profile.resources.memoryMiB,
    cpus: profile.resources.cpus,
    boot: spec.boot,
    ports: spec.ports,
    qmpSocket: paths.qmpSocket,
    serialLog: paths.serialLog,
    pidfile: paths.pidfile,
    daemonize: true,
    secrets: spec.secrets,
  });
}
