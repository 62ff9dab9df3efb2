import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVmFixture, fixtureSshWorkspaceFiles } from '../../../../../tools/fixtures/vm-fixture';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, type RunResult, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const HTTP_PORT = 32080 + (process.pid % 500);
const SSH_PORT = 32680 + (process.pid % 500);

/** Every regular file under `dir`, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describeIfTools(['nix', 'git', 'qemu-system-x86_64', 'apt-get', 'dpkg', 'cpio', 'ssh', 'ssh-keygen', 'ldd'])('secrets into a running fixture VM through real nx (TCG, dropbear in the guest)', () => {
  let ws: TestWorkspace;
  let secretsDir: string;
  // Values no output and no file under artifacts/ may hold.
  const tokenA = `token-a-${randomBytes(18).toString('base64url')}`;
  const tokenB = `token-b-${randomBytes(18).toString('base64url')}`;
  const outputs: string[] = [];
  const nx = (args: string[]): RunResult => {
    const result = ws.nx(args);
    outputs.push(result.output);
    return result;
  };
  /** What a shell command prints in the guest (one word at most), read over ssh. */
  const inGuest = (command: string) => {
    const result = nx(['run', 'fixture:ssh', '--', 'sh', '-c', `echo "value=$(${command})"`]);
    expect(result.code).toBe(0);
    // Nx echoes the command in its header: the guest's answer is the line that starts with it.
    return /^value=(\S*)$/m.exec(result.stdout)?.[1];
  };

  beforeAll(() => {
    const fixture = ensureVmFixture((line) => console.log(line));
    ws = createTestWorkspace({
      files: fixtureSshWorkspaceFiles(fixture, HTTP_PORT, SSH_PORT, { targets: { start: { options: { accel: 'tcg' } } } }),
    });
    // Outside the workspace, as an age key in ~/.config would be.
    secretsDir = mkdtempSync(join(tmpdir(), 'nx-nixos-secrets-e2e-'));
    writeFileSync(join(secretsDir, 'a.txt'), `${tokenA}\n`, { mode: 0o600 });
    writeFileSync(join(secretsDir, 'b.txt'), `${tokenB}\n`, { mode: 0o600 });
    symlinkSync(join(secretsDir, 'b.txt'), join(secretsDir, 'link.txt'));
    const built = ws.nx(['run', 'fixture:build-image']);
    if (built.code !== 0) throw new Error(`build-image failed:\n${built.output}`);
  });
  afterAll(() => {
    ws?.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
    ws?.cleanup();
    if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  });

  it('refuses bad input precisely, before any instance runs', () => {
    const b = join(secretsDir, 'b.txt');
    const cases: [string[], string][] = [
      [['--secret', `fixture-token=${b}`], 'fixture has no running instance. Start one: npx nx run fixture:start'],
      [['--secret', `fixture-token=${join(secretsDir, 'missing.txt')}`], `--secret fixture-token: cannot read ${join(secretsDir, 'missing.txt')} (ENOENT).`],
      [['--secret', `fixture-token=${join(secretsDir, 'link.txt')}`], `--secret fixture-token: cannot read ${join(secretsDir, 'link.txt')} (a symlink; give the file it points to).`],
      [['--secret', `bad/name=${b}`], '--secret bad/name: a credential name holds letters, digits'],
      [['--secret', `${'n'.repeat(29)}=${b}`], `--secret ${'n'.repeat(29)}: a credential name holds at most 28 characters`],
      [['--secret', `ssh.authorized_keys.root=${b}`], '--secret ssh.authorized_keys.root: the plugin sets this credential itself'],
      [[], 'Nothing to install: give --secret NAME=FILE once per credential'],
    ];
    for (const [args, message] of cases) {
      const result = nx(['run', 'fixture:secrets', ...args]);
      expect({ args, code: result.code === 0 ? 0 : 'non-zero', message: result.output.includes(message) }).toEqual({ args, code: 'non-zero', message: true });
    }
    // launch checks its --secret the same way.
    const tooLong = nx(['run', 'fixture:start', '--secret', `${'n'.repeat(29)}=${b}`]);
    expect(tooLong.code).not.toBe(0);
    expect(tooLong.output).toContain('a credential name holds at most 28 characters');
  });

  it('installs a changed secret into the running guest, whose service re-reads it; unchanged, nothing restarts', () => {
    const started = nx(['run', 'fixture:start', '--secret', `fixture-token=${join(secretsDir, 'a.txt')}`]);
    expect(started.code).toBe(0);
    expect(inGuest('cat /www/fixture-token.sha256')).toBe(sha256(`${tokenA}\n`));
    expect(inGuest('cat /www/fixture-token.starts')).toBe('1');

    const changed = nx(['run', 'fixture:secrets', '--secret', `fixture-token=${join(secretsDir, 'b.txt')}`]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain('changed: fixture-token\nrestarted: fixture-token-reader\n');
    expect(inGuest('cat /www/fixture-token.sha256')).toBe(sha256(`${tokenB}\n`));
    expect(inGuest('cat /www/fixture-token.starts')).toBe('2');

    const again = nx(['run', 'fixture:secrets', '--secret', `fixture-token=${join(secretsDir, 'b.txt')}`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('unchanged; nothing restarted');
    expect(again.stdout).not.toContain('changed:');
    expect(inGuest('cat /www/fixture-token.starts')).toBe('2');
    // What was staged is applied or removed: no copy stays in /run.
    expect(inGuest('ls -A /run/nx-nixos/credentials')).toBe('');
  });

  it('says what the guest lacks when it has no nx-nixos-reload-credentials, and installs nothing', () => {
    expect(nx(['run', 'fixture:ssh', '--', 'rm', '/bin/nx-nixos-reload-credentials']).code).toBe(0);
    const refused = nx(['run', 'fixture:secrets', '--secret', `fixture-token=${join(secretsDir, 'a.txt')}`]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('The fixture guest has no nx-nixos-reload-credentials on its PATH, so it cannot apply secrets while it runs; nothing was installed.');
    expect(refused.output).toContain('docs/how-to/work-inside-a-running-vm.md#install-secrets-into-a-running-vm');
    expect(inGuest('cat /www/fixture-token.sha256')).toBe(sha256(`${tokenB}\n`));
  });

  it('never shows a secret value: not in any nx output, not under artifacts/', () => {
    expect(outputs.length).toBeGreaterThan(5);
    for (const output of outputs) for (const token of [tokenA, tokenB]) expect(output.includes(token)).toBe(false);
    for (const file of filesUnder(join(ws.root, 'artifacts'))) {
      const text = readFileSync(file, 'latin1');
      for (const token of [tokenA, tokenB]) expect({ file, leaks: text.includes(token) }).toEqual({ file, leaks: false });
    }
  });
});
