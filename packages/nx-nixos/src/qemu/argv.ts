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
  const forwards = hostForwards(spec.ports).map((f) => `,${f}`).join('');
  argv.push('-netdev', `user,id=net0${forwards}`, '-device', 'virtio-net-pci,netdev=net0');
  argv.push('-device', 'virtio-rng-pci');
  argv.push(...credentialArgs(spec.secrets ?? []));
  return argv;
}

/** Each file handed to the guest as a systemd credential over fw_cfg: only its path is on the command line. */
export function credentialArgs(secrets: readonly SecretFile[]): string[] {
  return secrets.flatMap((secret) => {
    if (!CREDENTIAL_NAME.test(secret.name)) throw new Error(`Invalid credential name "${secret.name}"`);
    return ['-fw_cfg', `name=opt/io.systemd.credentials/${secret.name},file=${qemuOptValue(secret.file)}`];
  });
}

/** Forwarded ports as QEMU user-network options, on the loopback interface only. */
const hostForwards = (ports: readonly PortForward[]) => ports.map((p) => `hostfwd=tcp:127.0.0.1:${p.host}-:${p.guest}`);

/** What a development VM's run script is started with, besides what it sets itself. */
export interface DevVmSpec {
  /** Shown by `ps` and used to recognise our processes (it overrides the run script's -name). */
  name: string;
  accel: Accelerator;
  ports: readonly PortForward[];
  qmpSocket: string;
  serialLog: string;
  pidfile: string;
  secrets?: readonly SecretFile[];
  /** The writable disk (NIX_DISK_IMAGE); the run script creates it when it is missing. */
  disk: string;
  /** The run script's TMPDIR (used as is: USE_TMPDIR=1); its xchg folder is the default SHARED_DIR. */
  tmpDir: string;
  sharedDir?: string;
  /** Appended to the kernel command line (QEMU_KERNEL_PARAMS). */
  kernelParams?: string;
}

/** The run script expands QEMU_OPTS unquoted: a word must not hold a space or anything a shell would expand. */
const SHELL_SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * The environment of a NixOS run script (nixos/modules/virtualisation/qemu-vm.nix: bin/run-<name>-vm): the
 * script builds its own QEMU command line (kernel, the host store over 9p, its disk) and appends QEMU_OPTS,
 * and QEMU_NET_OPTS to its user network. We add what launch adds to an image: our -name, the accelerator,
 * the QMP socket, the serial console into the instance's log (instead of -nographic's stdio), the pidfile
 * and the credentials. The last -name and -machine accel= win in QEMU, so ours override the script's.
 */
export function devVmEnvironment(spec: DevVmSpec): Record<string, string> {
  const opts = [
    '-name', `${qemuOptValue(spec.name)},process=${qemuOptValue(spec.name)}`,
    '-machine', `accel=${spec.accel}`,
    '-qmp', `unix:${qemuOptValue(spec.qmpSocket)},server=on,wait=off`,
    '-chardev', `file,id=serial0,path=${qemuOptValue(spec.serialLog)}`,
    '-serial', 'chardev:serial0',
    '-monitor', 'none',
    '-pidfile', spec.pidfile,
    ...credentialArgs(spec.secrets ?? []),
  ];
  const unsafe = opts.find((word) => !SHELL_SAFE_WORD.test(word));
  if (unsafe !== undefined)
    throw new Error(
      `The development VM's run script splits QEMU_OPTS at spaces and expands shell patterns, so "${unsafe}" cannot be passed to it. ` +
        'Use paths without spaces, quotes or shell pattern characters (move the workspace, or the --secret file).',
    );
  return {
    QEMU_OPTS: opts.join(' '),
    QEMU_NET_OPTS: hostForwards(spec.ports).join(','),
    NIX_DISK_IMAGE: spec.disk,
    TMPDIR: spec.tmpDir,
    USE_TMPDIR: '1',
    ...(spec.sharedDir ? { SHARED_DIR: spec.sharedDir } : {}),
    ...(spec.kernelParams ? { QEMU_KERNEL_PARAMS: spec.kernelParams } : {}),
  };
}

/** The longest path a unix socket address holds on Linux (sun_path is 108 bytes with its NUL). */
export const UNIX_SOCKET_PATH_MAX = 107;

export function fitsUnixSocket(path: string): boolean {
  return Buffer.byteLength(path) <= UNIX_SOCKET_PATH_MAX;
}
