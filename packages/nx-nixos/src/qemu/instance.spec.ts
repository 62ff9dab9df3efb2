import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitsUnixSocket } from './argv';
import { cleanBrokenInstance, inspectInstance, instancePaths, isLiveProcess, isOurQemu, isOurQemuArgs, listInstances, loadState, writeState, type InstanceState } from './instance';
import { describeInstance } from './status';

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

  it('recognises a development VM by the -name, -qmp and -pidfile appended after its run script\'s own options', () => {
    const ours = ['-name', 'nx-nixos-dev-default,process=nx-nixos-dev-default', '-qmp', 'unix:/ws/qmp.sock,server=on,wait=off', '-pidfile', '/ws/qemu.pid'];
    const script = ['qemu-system-x86_64', '-name', 'dev', '-m', '1024', '-nographic'];
    expect(isOurQemuArgs([...script, ...ours], ['/ws/qmp.sock'])).toBe(true);
    expect(isOurQemuArgs([...script, ...ours], ['/other/qmp.sock'], '/ws/qemu.pid')).toBe(true);
    // QEMU takes the last -name: a command line whose last -name is not ours is not ours.
    expect(isOurQemuArgs([...ours, ...script], ['/ws/qmp.sock'])).toBe(false);
    expect(isOurQemuArgs(script, ['/ws/qmp.sock'])).toBe(false);
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
  });
});

describe('state.json', () => {
  let ws: string;
  beforeAll(() => (ws = mkdtempSync(join(tmpdir(), 'nx-nixos-state-'))));
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it('names the field of a state.json with a wrong type instead of failing later with a TypeError', () => {
    const paths = instancePaths(ws, 'demo', 'typed');
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.state, JSON.stringify({ stateVersion: 1, profile: 'demo', instance: 'typed', pid: '12', accel: 'tcg' }));
    expect(loadState(paths).problem).toMatch(new RegExp(`^${paths.state} is damaged: pid: .*expected number, received string$`));
    writeFileSync(paths.state, '{');
    expect(loadState(paths).problem).toMatch(new RegExp(`^${paths.state} is not valid JSON`));
    const info = inspectInstance(ws, 'demo', 'typed');
    expect(info.status).toBe('stopped');
    expect(describeInstance(info).join('\n')).toContain('is not valid JSON');
  });

  it('says which file could not be written', () => {
    const paths = instancePaths(ws, 'demo', 'unwritable');
    mkdirSync(paths.state, { recursive: true });
    expect(() => writeState(paths, {} as InstanceState)).toThrow(new RegExp(`^Could not write ${paths.state}: .*\\(E[A-Z]+\\)$`));
  });

  it('a folder where the QMP socket belongs makes the instance broken and is never deleted', () => {
    const paths = instancePaths(ws, 'demo', 'sockdir');
    mkdirSync(paths.qmpSocket, { recursive: true });
    const info = inspectInstance(ws, 'demo', 'sockdir');
    expect(info.status).toBe('broken');
    expect(info.reason).toContain(`${paths.qmpSocket} is a folder where QEMU's QMP socket belongs (remove it: rm -r ${paths.qmpSocket})`);
    expect(() => cleanBrokenInstance(info)).toThrow(`${paths.qmpSocket} is a folder where QEMU's QMP socket belongs`);
    expect(existsSync(paths.qmpSocket)).toBe(true);
  });
});
