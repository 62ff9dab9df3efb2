import { profileSchema } from '../profile/schema';
import { instanceArgv } from './boot';
import { instancePaths } from './instance';

describe('instanceArgv', () => {
  it('names the QEMU after profile and instance, daemonizes it and points it at the instance files', () => {
    const profile = profileSchema.parse({
      name: 'development',
      description: 'dev',
      flake: { attribute: 'development' },
      image: { kind: 'disk', file: 'nixos.qcow2' },
      resources: { memoryMiB: 2048, cpus: 2, diskGiB: 1 },
    });
    const paths = instancePaths('/ws', 'development', 'default');
    const argv = instanceArgv({
      profile,
      instance: 'default',
      accel: 'tcg',
      boot: { kind: 'disk', overlay: paths.overlay },
      ports: [{ host: 8444, guest: 443 }],
      paths,
      secrets: [{ name: 'age', file: '/keys/age.txt' }],
    });
    const valueOf = (flag: string) => argv.filter((_, i) => argv[i - 1] === flag);
    expect(valueOf('-name')).toEqual(['nx-nixos-development-default,process=nx-nixos-development-default']);
    expect(valueOf('-pidfile')).toEqual(['/ws/artifacts/vms/development/default/qemu.pid']);
    expect(valueOf('-qmp')).toEqual(['unix:/ws/artifacts/vms/development/default/qmp.sock,server=on,wait=off']);
    expect(valueOf('-m')).toEqual(['2048']);
    expect(argv).toContain('-daemonize');
    expect(valueOf('-fw_cfg')).toEqual(['name=opt/io.systemd.credentials/age,file=/keys/age.txt']);
  });
});
