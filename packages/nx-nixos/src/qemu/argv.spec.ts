import { credentialArgs, devVmEnvironment, fitsUnixSocket, qemuArgv, qemuOptValue, type DevVmSpec, type QemuSpec } from './argv';

const base: QemuSpec = {
  name: 'nx-nixos-development-default',
  accel: 'tcg',
  memoryMiB: 2048,
  cpus: 2,
  boot: { kind: 'disk', overlay: '/ws/artifacts/vms/development/default/disk.qcow2' },
  ports: [
    { host: 8443, guest: 443 },
    { host: 2224, guest: 22 },
  ],
  qmpSocket: '/ws/artifacts/vms/development/default/qmp.sock',
  serialLog: '/ws/artifacts/vms/development/default/serial.log',
};

const valueOf = (argv: string[], flag: string) => argv.filter((_, i) => argv[i - 1] === flag);

describe('qemuArgv', () => {
  it('boots the overlay with the accelerator, -cpu max, memory and cpus', () => {
    const argv = qemuArgv(base);
    expect(valueOf(argv, '-accel')).toEqual(['tcg']);
    expect(valueOf(argv, '-cpu')).toEqual(['max']);
    expect(valueOf(argv, '-m')).toEqual(['2048']);
    expect(valueOf(argv, '-smp')).toEqual(['2']);
    expect(valueOf(argv, '-drive')).toEqual(['file=/ws/artifacts/vms/development/default/disk.qcow2,format=qcow2,if=virtio,cache=writeback,discard=unmap']);
    expect(argv).not.toContain('-kernel');
    expect(valueOf(qemuArgv({ ...base, accel: 'kvm' }), '-accel')).toEqual(['kvm']);
  });

  it('forwards ports on 127.0.0.1 only', () => {
    const [netdev] = valueOf(qemuArgv(base), '-netdev');
    expect(netdev).toBe('user,id=net0,hostfwd=tcp:127.0.0.1:8443-:443,hostfwd=tcp:127.0.0.1:2224-:22');
  });

  it('uses the non-deprecated QMP syntax and a serial log file', () => {
    const argv = qemuArgv(base);
    expect(valueOf(argv, '-qmp')).toEqual(['unix:/ws/artifacts/vms/development/default/qmp.sock,server=on,wait=off']);
    expect(valueOf(argv, '-chardev')).toEqual(['file,id=serial0,path=/ws/artifacts/vms/development/default/serial.log']);
    expect(valueOf(argv, '-serial')).toEqual(['chardev:serial0']);
    expect(argv).toEqual(expect.arrayContaining(['-nodefaults', '-no-user-config', '-display', 'none']));
  });

  it('boots a kernel directly with its command line as one argument', () => {
    const argv = qemuArgv({ ...base, boot: { kind: 'kernel', kernel: '/nix/store/x/bzImage', initrd: '/nix/store/x/initrd', cmdline: 'console=ttyS0 init=/init' } });
    expect(valueOf(argv, '-kernel')).toEqual(['/nix/store/x/bzImage']);
    expect(valueOf(argv, '-initrd')).toEqual(['/nix/store/x/initrd']);
    expect(valueOf(argv, '-append')).toEqual(['console=ttyS0 init=/init']);
    expect(argv).not.toContain('-drive');
  });

  it('passes secrets as fw_cfg systemd credentials by file path only', () => {
    const argv = qemuArgv({ ...base, secrets: [{ name: 'sops-age-key', file: '/home/me/keys.txt' }] });
    expect(valueOf(argv, '-fw_cfg')).toEqual(['name=opt/io.systemd.credentials/sops-age-key,file=/home/me/keys.txt']);
    expect(() => qemuArgv({ ...base, secrets: [{ name: '../x', file: '/k' }] })).toThrow('Invalid credential name');
  });

  it('doubles commas in paths so QEMU does not split them', () => {
    expect(qemuOptValue('/a,b/c')).toBe('/a,,b/c');
    const argv = qemuArgv({ ...base, serialLog: '/ws,1/serial.log' });
    expect(valueOf(argv, '-chardev')).toEqual(['file,id=serial0,path=/ws,,1/serial.log']);
  });
});

describe('fitsUnixSocket', () => {
  it('accepts 107 bytes and rejects 108', () => {
    expect(fitsUnixSocket('/' + 'a'.repeat(106))).toBe(true);
    expect(fitsUnixSocket('/' + 'a'.repeat(107))).toBe(false);
  });
});

describe('devVmEnvironment', () => {
  const dir = '/ws/artifacts/vms/development/default';
  const spec: DevVmSpec = {
    name: 'nx-nixos-development-default',
    accel: 'tcg',
    ports: [
      { host: 8443, guest: 443 },
      { host: 2224, guest: 22 },
    ],
    qmpSocket: `${dir}/qmp.sock`,
    serialLog: `${dir}/serial.log`,
    pidfile: `${dir}/qemu.pid`,
    disk: `${dir}/dev-vm.qcow2`,
    tmpDir: `${dir}/dev-vm-tmp`,
  };
  const opts = (env: Record<string, string>) => env.QEMU_OPTS.split(' ');

  it('forwards the ports on 127.0.0.1 through QEMU_NET_OPTS, which the run script appends to its user network', () => {
    expect(devVmEnvironment(spec).QEMU_NET_OPTS).toBe('hostfwd=tcp:127.0.0.1:8443-:443,hostfwd=tcp:127.0.0.1:2224-:22');
    expect(devVmEnvironment({ ...spec, ports: [] }).QEMU_NET_OPTS).toBe('');
  });

  it('adds our name, the accelerator, QMP, the serial log instead of stdio, and the pidfile through QEMU_OPTS', () => {
    const argv = opts(devVmEnvironment(spec));
    expect(valueOf(argv, '-name')).toEqual(['nx-nixos-development-default,process=nx-nixos-development-default']);
    expect(valueOf(argv, '-machine')).toEqual(['accel=tcg']);
    expect(valueOf(argv, '-qmp')).toEqual([`unix:${dir}/qmp.sock,server=on,wait=off`]);
    expect(valueOf(argv, '-chardev')).toEqual([`file,id=serial0,path=${dir}/serial.log`]);
    expect(valueOf(argv, '-serial')).toEqual(['chardev:serial0']);
    expect(valueOf(argv, '-monitor')).toEqual(['none']);
    expect(valueOf(argv, '-pidfile')).toEqual([`${dir}/qemu.pid`]);
    // -daemonize cannot be combined with the run script's -nographic.
    expect(argv).not.toContain('-daemonize');
  });

  it('keeps the disk and TMPDIR in the instance folder; SHARED_DIR and QEMU_KERNEL_PARAMS only when given', () => {
    const env = devVmEnvironment(spec);
    expect(env).toMatchObject({ NIX_DISK_IMAGE: `${dir}/dev-vm.qcow2`, TMPDIR: `${dir}/dev-vm-tmp`, USE_TMPDIR: '1' });
    expect(env).not.toHaveProperty('SHARED_DIR');
    expect(env).not.toHaveProperty('QEMU_KERNEL_PARAMS');
    expect(devVmEnvironment({ ...spec, sharedDir: '/srv/x', kernelParams: 'systemd.log_level=debug' })).toMatchObject({ SHARED_DIR: '/srv/x', QEMU_KERNEL_PARAMS: 'systemd.log_level=debug' });
  });

  it('hands credentials over fw_cfg as launch does, by path only', () => {
    const argv = opts(devVmEnvironment({ ...spec, secrets: [{ name: 'sops-age-key', file: '/home/me/keys.txt' }] }));
    expect(valueOf(argv, '-fw_cfg')).toEqual(['name=opt/io.systemd.credentials/sops-age-key,file=/home/me/keys.txt']);
    expect(valueOf(argv, '-fw_cfg')).toEqual(credentialArgs([{ name: 'sops-age-key', file: '/home/me/keys.txt' }]).slice(1));
  });

  it('refuses a word the run script would split or expand (QEMU_OPTS is expanded unquoted)', () => {
    expect(() => devVmEnvironment({ ...spec, pidfile: '/my ws/qemu.pid' })).toThrow('"/my ws/qemu.pid" cannot be passed to it');
    expect(() => devVmEnvironment({ ...spec, secrets: [{ name: 'k', file: '/keys/*.txt' }] })).toThrow('cannot be passed');
    expect(() => devVmEnvironment({ ...spec, secrets: [{ name: 'k', file: '/keys/$HOME' }] })).toThrow('cannot be passed');
  });

  it('escapes commas in paths as QEMU expects', () => {
    expect(valueOf(opts(devVmEnvironment({ ...spec, serialLog: '/ws/a,b/serial.log' })), '-chardev')).toEqual(['file,id=serial0,path=/ws/a,,b/serial.log']);
  });
});
