import { spawn } from 'node:child_process';
import { InstanceBusyError, lockInstance, tryLockInstance } from './lock';

const dir = `/tmp/nx-nixos-lock-test-${process.pid}`;

describe('instance lock', () => {
  it('has one holder at a time, which says who it is', async () => {
    const first = await tryLockInstance(dir, 'nx run demo:start');
    expect('lock' in first).toBe(true);
    const second = await tryLockInstance(dir, 'nx run demo:stop');
    expect(second).toEqual({ owner: { pid: process.pid, purpose: 'nx run demo:start', since: expect.any(String) } });
    const error = await lockInstance(dir, 'nx run demo:stop', { what: 'demo instance "default"', waitMs: 300 }).catch((e) => e);
    expect(error).toBeInstanceOf(InstanceBusyError);
    expect(error.message).toMatch(/^demo instance "default" is busy: PID \d+ \(nx run demo:start, since .+\) is starting or stopping it\./);
    if ('lock' in first) await first.lock.release();
    const third = await tryLockInstance(dir, 'nx run demo:stop');
    expect('lock' in third).toBe(true);
    if ('lock' in third) await third.lock.release();
  });

  it('is released when its holder dies, however it dies, and not kept by the holder\'s children', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      require(${JSON.stringify(require.resolve('./lock'))}).tryLockInstance(${JSON.stringify(dir)}, 'holder').then(() => {
        spawn('sleep', ['3'], { detached: true, stdio: 'ignore' }).unref();
        console.log('locked');
        setInterval(() => {}, 1000);
      });`;
    const holder = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.on('data', (d) => String(d).includes('locked') && resolve()));
    expect(await tryLockInstance(dir, 'waiting')).toEqual({ owner: expect.objectContaining({ pid: holder.pid, purpose: 'holder' }) });
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    const after = await tryLockInstance(dir, 'after');
    expect('lock' in after).toBe(true);
    if ('lock' in after) await after.lock.release();
  });
});
