import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSummary } from './build';
import { derivationName, NixBuildMonitor } from './progress';
import { ProgressReporter, statusLine } from './progress-render';

const fixture = (name: string) => readFileSync(join(__dirname, '../../test/fixtures/nix-logs', name), 'utf8').split('\n');

function replay(name: string) {
  let clock = 0;
  const logLines: string[] = [];
  const monitor = new NixBuildMonitor({ onLogLine: (drv, line) => logLines.push(`${drv}> ${line}`) }, () => (clock += 100));
  for (const line of fixture(name)) monitor.ingest(line);
  return { monitor, logLines };
}

describe('NixBuildMonitor', () => {
  it('follows a successful Nix 2.8 build: counts, finished derivations, log lines', () => {
    const { monitor, logLines } = replay('nix-2.8-build-ok.jsonl');
    expect(monitor.builds).toEqual({ done: 2, expected: 2, running: 0, failed: 0 });
    expect(monitor.finished.map((b) => b.name)).toEqual(['a', 'ok']);
    expect(monitor.running.size).toBe(0);
    expect(logLines).toEqual(['a> building a', 'a> line2', expect.stringMatching(/^ok> dep is \/nix\/store\/.+-a$/), 'ok> hi']);
    expect(monitor.failedDerivation()).toBeUndefined();
    expect(monitor.messages.map((m) => m.text)).toEqual(["warning: Git tree '/tmp/fixture' is dirty"]);
  });

  it('finds the failing derivation of a Nix 2.8 build and keeps its log tail', () => {
    const { monitor } = replay('nix-2.8-build-fail.jsonl');
    const failed = monitor.failedDerivation();
    expect(failed).toMatch(/^\/nix\/store\/[a-z0-9]{32}-bad\.drv$/);
    expect(monitor.logTail(failed!)).toEqual(['about to fail', 'oops']);
    expect(monitor.builds.failed).toBe(1);
    expect(monitor.errors()[0]).toMatch(/^builder for '.*-bad\.drv' failed with exit code 3/);
  });

  it('reads newer messages (substitutions, downloads, phases, remote builds) and ignores unknown ones', () => {
    const { monitor, logLines } = replay('nix-2.24-substitute-and-build.jsonl');
    expect(monitor.builds).toEqual({ done: 2, expected: 2, running: 0, failed: 0 });
    expect(monitor.substitutions).toEqual({ done: 1, expected: 1 });
    expect(monitor.downloadedBytes).toBe(52428800);
    expect(monitor.expectedDownloadBytes).toBe(52428800);
    expect([...monitor.substituted]).toEqual(['/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc-2.39']);
    expect(monitor.finished.map((b) => [b.name, b.machine])).toEqual([
      ['nixos-disk-image', undefined],
      ['development', 'builder.example.org'],
    ]);
    expect(buildSummary(monitor)).toMatch(/^built 2 \(on builder\.example\.org\), substituted 1 in /);
    expect(logLines).toContain("nixos-disk-image> Formatting '/build/nixos.qcow2', fmt=qcow2 size=32212254720");
    expect(logLines).toContain('development> post-build hook says hi');
    expect(monitor.messages.map((m) => m.text)).toEqual(
      expect.arrayContaining(['warning: ignoring untrusted substituter', 'this line is not JSON at all', '@nix {not json either']),
    );
  });

  it('counts a Nix 2.8 remote build once, on its builder, with the log lines the builder forwarded', () => {
    const { monitor, logLines } = replay('nix-2.8-remote-build.jsonl');
    expect(monitor.finished.map((b) => [b.name, b.machine])).toEqual([['t', 'ssh-ng://rave-builder']]);
    expect(monitor.builds).toEqual({ done: 1, expected: 1, running: 0, failed: 0 });
    expect(logLines).toEqual(['t> hello-from-remote-8180']);
    expect(monitor.logTail(monitor.finished[0].drvPath)).toEqual(['hello-from-remote-8180']);
    expect(buildSummary(monitor)).toMatch(/^built 1 \(on ssh-ng:\/\/rave-builder\), substituted 0 in /);

    const started: string[] = [];
    const hooked = new NixBuildMonitor({ onBuildStarted: (b) => started.push(`${b.name} on ${b.machine}`) });
    for (const line of fixture('nix-2.8-remote-build.jsonl')) hooked.ingest(line);
    expect(started).toEqual(['t on ssh-ng://rave-builder']);
  });

  it('names the builder of a running remote build in the status line', () => {
    const monitor = new NixBuildMonitor({}, () => 0);
    const lines = fixture('nix-2.8-remote-build.jsonl');
    // Up to the builder's own progress report of its nested build: the local counts must win.
    for (const line of lines.slice(0, lines.findIndex((l) => l.includes('"fields":[1,1,0,0],"id":47137266073611')) + 1)) monitor.ingest(line);
    expect(statusLine(monitor)).toBe('built 0/1 | running: t on ssh-ng://rave-builder | 0.0s');
  });

  it('shows the phase of a running build in the status line', () => {
    const monitor = new NixBuildMonitor({}, () => 0);
    for (const line of fixture('nix-2.24-substitute-and-build.jsonl').slice(0, 21)) monitor.ingest(line);
    expect(statusLine(monitor, 2 * 1024 * 1024)).toBe(
      'built 0/2 | fetched 1/1 | running: nixos-disk-image (buildPhase) | 50.0 MiB/50.0 MiB down at 2.0 MiB/s | 0.0s',
    );
  });
});

describe('derivationName', () => {
  it('strips the store folder, hash and .drv', () => {
    expect(derivationName('/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-disk-image.drv')).toBe('nixos-disk-image');
    expect(derivationName('/nix/store/0123456789abcdfghijklmnpqrsvwxyz-glibc-2.39')).toBe('glibc-2.39');
  });
});

describe('ProgressReporter', () => {
  it('prints plain status lines when not on a TTY, only when they change', () => {
    const written: string[] = [];
    const monitor = new NixBuildMonitor({}, () => 0);
    const reporter = new ProgressReporter(monitor, { write: (t: string) => written.push(t), isTTY: false }, 1000);
    reporter.tick();
    reporter.tick();
    monitor.ingest('@nix {"action":"start","id":2,"type":104}');
    monitor.ingest('@nix {"action":"result","fields":[1,3,0,0],"id":2,"type":105}');
    reporter.tick();
    expect(written).toEqual(['built 0/0 | 0.0s\n', 'built 1/3 | 0.0s\n']);
  });

  it('repaints one line on a TTY and clears it before printing a message', () => {
    const written: string[] = [];
    const monitor = new NixBuildMonitor({}, () => 0);
    const reporter = new ProgressReporter(monitor, { write: (t: string) => written.push(t), isTTY: true, columns: 80 }, 1000);
    reporter.tick();
    reporter.print('warning: something');
    expect(written).toEqual(['\r\x1b[Kbuilt 0/0 | 0.0s', '\r\x1b[K', 'warning: something\n']);
  });
});
