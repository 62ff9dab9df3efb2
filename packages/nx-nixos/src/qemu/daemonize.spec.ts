import { startFailure, unboundHostPorts } from './daemonize';

describe('unboundHostPorts', () => {
  it('reads the ports QEMU could not forward from what it printed', () => {
    const output =
      "qemu-system-x86_64: -netdev user,id=net0,hostfwd=tcp:127.0.0.1:8443-:443: Could not set up host forwarding rule 'tcp:127.0.0.1:8443-:443'\n" +
      'qemu-system-x86_64: Could not set up host forwarding rule tcp:127.0.0.1:2224-:22\n';
    expect(unboundHostPorts(output)).toEqual([8443, 2224]);
    expect(unboundHostPorts('qemu-system-x86_64: -drive file=x: Could not open x')).toEqual([]);
  });
});

describe('startFailure', () => {
  const onPath = { path: 'qemu-system-x86_64', fromEnv: false };
  it('quotes what QEMU said and where the full output is', () => {
    const message = startFailure(onPath, { code: 1, signal: null, output: 'bad option\n' }, '/vm/qemu.log');
    expect(message).toBe('QEMU failed to start: qemu-system-x86_64 exited with code 1 and said:\nbad option\nFull output: /vm/qemu.log');
  });
  it('says when the output could not be saved, and suspects NX_NIXOS_QEMU when nothing was printed', () => {
    const fromEnv = { path: '/bin/false', fromEnv: true };
    const message = startFailure(fromEnv, { code: null, signal: 'SIGKILL', output: '', logError: 'ENOSPC' }, '/vm/qemu.log');
    expect(message.split('\n')).toEqual([
      'QEMU failed to start: NX_NIXOS_QEMU=/bin/false was killed by SIGKILL without printing anything.',
      'Its output could not be saved to /vm/qemu.log (ENOSPC).',
      'NX_NIXOS_QEMU is set: check that it names a QEMU system emulator, or unset it to use qemu-system-x86_64 from PATH.',
    ]);
  });
});
