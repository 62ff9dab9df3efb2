import { EventEmitter } from 'node:events';
import { watchForStop } from './watch-for-stop';

describe('watchForStop', () => {
  it('aborts at the first stop signal and keeps its reason when more signals follow', () => {
    const emitter = new EventEmitter();
    const watch = watchForStop(emitter);
    expect(watch.signal.aborted).toBe(false);
    emitter.emit('SIGTERM', 'SIGTERM');
    emitter.emit('SIGINT', 'SIGINT');
    expect(watch.signal.aborted).toBe(true);
    expect(watch.reason()).toBe('SIGTERM');
    watch.dispose();
  });

  it('handles SIGINT, SIGTERM and SIGHUP until disposed, then lets them go', () => {
    const emitter = new EventEmitter();
    const watch = watchForStop(emitter);
    expect(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => emitter.listenerCount(s))).toEqual([1, 1, 1]);
    watch.dispose();
    expect(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => emitter.listenerCount(s))).toEqual([0, 0, 0]);
    expect(watch.signal.aborted).toBe(false);
  });
});
