import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseInteractiveTest, driverProgram, interactiveDriverHints, runInteractiveDriver } from './interactive-driver';

describe('chooseInteractiveTest', () => {
  it('takes the only test, or the one asked for', () => {
    expect(chooseInteractiveTest(['profile-dev'], undefined, 'dev')).toBe('profile-dev');
    expect(chooseInteractiveTest(['a', 'b'], 'b', 'dev')).toBe('b');
  });
  it('asks to choose among several, names an unknown one, and refuses a project without tests', () => {
    expect(() => chooseInteractiveTest(['a', 'b'], undefined, 'dev')).toThrow('dev has 2 VM tests (a, b); choose one with --test NAME.');
    expect(() => chooseInteractiveTest(['a'], 'c', 'dev')).toThrow('--test c: not a test of dev; its tests: a.');
    expect(() => chooseInteractiveTest([], undefined, 'dev')).toThrow('dev declares no VM test, so there is no test driver to run.');
  });
});

describe('interactiveDriverHints', () => {
  it('tells how to use the REPL and the terminal UI, and says it will be slow only without KVM', () => {
    const withKvm = interactiveDriverHints({ usable: true });
    expect(withKvm.join('\n')).toMatch(/start_all\(\)[\s\S]*machine\.shell_interact\(\)[\s\S]*test_script\(\)[\s\S]*Ctrl-D/);
    expect(withKvm.join('\n')).toContain("In Nx's terminal UI: press i to type into the driver;");
    expect(withKvm.join('\n')).not.toContain('KVM');
    const without = interactiveDriverHints({ usable: false, reason: '/dev/kvm does not exist', fix: 'load kvm_intel' });
    expect(without[without.length - 1]).toBe(
      'Without KVM (/dev/kvm does not exist) the machines run under TCG software emulation: booting takes minutes, not seconds. Fix: load kvm_intel.',
    );
  });
});

describe('driverProgram and runInteractiveDriver', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'driver-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds bin/nixos-test-driver, or says what bin/ holds instead', () => {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'other'), '');
    expect(() => driverProgram(dir, 'checks.x.t.driverInteractive')).toThrow(`checks.x.t.driverInteractive (${dir}) has no bin/nixos-test-driver; its bin/ holds: other.`);
    writeFileSync(join(dir, 'bin', 'nixos-test-driver'), '');
    expect(driverProgram(dir, 'checks.x.t.driverInteractive')).toBe(join(dir, 'bin', 'nixos-test-driver'));
  });

  it('runs the program in its working folder and resolves with its exit code', async () => {
    const program = join(dir, 'driver');
    writeFileSync(program, '#!/bin/sh\npwd > seen\nexit 7\n');
    chmodSync(program, 0o755);
    mkdirSync(join(dir, 'work'));
    await expect(runInteractiveDriver({ program, workDir: join(dir, 'work') })).resolves.toBe(7);
    expect(readFileSync(join(dir, 'work', 'seen'), 'utf8').trim()).toBe(join(dir, 'work'));
  });

  it('refuses a working folder that is a symlink', () => {
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'work'));
    expect(() => runInteractiveDriver({ program: '/bin/true', workDir: join(dir, 'work') })).toThrow(`${join(dir, 'work')} is not a folder.`);
  });
});
