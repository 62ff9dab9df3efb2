import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitsUnixSocket } from './argv';
import { freeInstanceName, inspectInstance, instancePaths, isLiveProcess, isOurQemu, listInstances } from './instance';

describe('instance folders', () => {
  let ws: string;
  beforeAll(() => (ws = mkdtempSync(join(tmpdir(), 'nx-nixos-inst-'))));
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it('keeps everything of an instance in artifacts/vms/<profile>/<instance>', () => {
    const paths = instancePaths(ws, 'development', 'default');
    expect(paths.dir).toBe(join(ws, 'artifacts/vms/development/default'));
    expect(paths.qmpSocket).toBe(join(paths.dir, 'qmp.sock'));
    expect(paths.state).toBe(join(paths.dir, 'state.json'));
  });

  it('moves a QMP socket that would exceed the 108-byte limit to a short stable path', () => {
    const deep = join(ws, 'x'.repeat(100));
    const paths = instancePaths(deep, 'development', 'default');
    expect(paths.qmpSocket.startsWith(deep)).toBe(false);
    expect(fitsUnixSocket(paths.qmpSocket)).toBe(true);
    expect(instancePaths(deep, 'development', 'default').qmpSocket).toBe(paths.qmpSocket);
    expect(instancePaths(deep, 'development', 'other').qmpSocket).not.toBe(paths.qmpSocket);
  });

  it('never takes another process for our QEMU', () => {
    expect(isOurQemu(process.pid, '/tmp/qmp.sock')).toBe(false);
    expect(isOurQemu(2 ** 22 + 1, '/tmp/qmp.sock')).toBe(false);
    expect(isLiveProcess(process.pid)).toBe(true);
  });

  it('treats a pidfile naming another live process as broken, and a missing instance as stopped', () => {
    const paths = instancePaths(ws, 'demo', 'default');
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.state, JSON.stringify({ qmpSocket: paths.qmpSocket, startedAt: new Date().toISOString() }));
    writeFileSync(paths.pidfile, `${process.pid}\n`);
    const info = inspectInstance(ws, 'demo', 'default');
    expect(info.status).toBe('broken');
    expect(info.reason).toBe(`its pidfile names PID ${process.pid}, which is not this instance's QEMU (left alone)`);
    expect(inspectInstance(ws, 'demo', 'other').status).toBe('stopped');
    expect(listInstances(ws).map((i) => `${i.profile}/${i.instance}`)).toEqual(['demo/default']);
    // A broken instance is not running, so its name is free for the next launch.
    expect(freeInstanceName(ws, 'demo')).toBe('default');
  });
});
