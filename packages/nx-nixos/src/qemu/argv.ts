/** The QEMU command line of a profile VM: pure, so every flag is tested without starting QEMU. */

export type Accelerator = 'kvm' | 'tcg';

export type BootSpec =
  | { kind: 'disk'; overlay: string }
  | { kind: 'kernel'; kernel: string; initrd: string; cmdline: string };

export interface PortForward {
  host: number;
  guest: number;
}

/** A file handed to the guest as a systemd credential. Only the path is ever on the command line. */
export interface SecretFile {
  name: string;
  file: string;
}

export interface QemuSpec {
  /** Shown by `ps` and used to recognise our processes. */
  name: string;
  accel: Accelerator;
  memoryMiB: number;
  cpus: number;
  boot: BootSpec;
  ports: readonly PortForward[];
  qmpSocket: string;
  serialLog: string;
  /** QEMU writes its PID here (and removes it on exit). */
  pidfile?: string;
  /** Detach from the launcher once set up (-daemonize). */
  daemonize?: boolean;
  secrets?: readonly SecretFile[];
}

/** QEMU splits option values at commas; a literal comma is written twice. */
export const qemuOptValue = (value: string) => value.replace(/,/g, ',,');

/** systemd credential names: no slashes, nothing that needs quoting. */
export const CREDENTIAL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,254}$/;

export function qemuArgv(spec: QemuSpec): string[] {
  const argv = [
    '-name', `${qemuOptValue(spec.name)},process=${qemuOptValue(spec.name)}`,
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-machine', 'q35',
    '-accel', spec.accel,
    '-cpu', 'max',
    '-m', String(spec.memoryMiB),
    '-smp', String(spec.cpus),
    '-chardev', `file,id=serial0,path=${qemuOptValue(spec.serialLog)}`,
    '-serial', 'chardev:serial0',
    '-qmp', `unix:${qemuOptValue(spec.qmpSocket)},server=on,wait=off`,
  ];
  if (spec.pidfile) argv.push('-pidfile', spec.pidfile);
  if (spec.daemonize) argv.push('-daemonize');
  if (spec.boot.kind === 'disk') {
    argv.push('-drive', `file=${qemuOptValue(spec.boot.overlay)},format=qcow2,if=virtio,cache=writeback,discard=unmap`);
  } else {
    argv.push('-kernel', spec.boot.kernel, '-initrd', spec.boot.initrd, '-append', spec.boot.cmdline);
  }
  // Forwarded ports listen on the loopback interface only.
  const forwards = spec.ports.map((p) => `,hostfwd=tcp:127.0.0.1:${p.host}-:${p.guest}`).join('');
  argv.push('-netdev', `user,id=net0${forwards}`, '-device', 'virtio-net-pci,netdev=net0');
  argv.push('-device', 'virtio-rng-pci');
  for (const secret of spec.secrets ?? []) {
    if (!CREDENTIAL_NAME.test(secret.name)) throw new Error(`Invalid credential name "${secret.name}"`);
    argv.push('-fw_cfg', `name=opt/io.systemd.credentials/${secret.name},file=${qemuOptValue(secret.file)}`);
  }
  return argv;
}

/** The longest path a unix socket address holds on Linux (sun_path is 108 bytes with its NUL). */
export const UNIX_SOCKET_PATH_MAX = 107;

export function fitsUnixSocket(path: string): boolean {
  return Buffer.byteLength(path) <= UNIX_SOCKET_PATH_MAX;
}
