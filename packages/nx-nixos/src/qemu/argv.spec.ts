import { fitsUnixSocket, qemuArgv, qemuOptValue, type QemuSpec } from './argv';

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
