import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_STAGING_DIR, HOOK_MISSING_LINE, installCommand, maskReportLine, readSecret, RELOAD_HOOK, secretFragments } from './credentials';

describe('installCommand', () => {
  it('holds only the names, the byte counts and the staging folder, and hands the names to the hook', () => {
    const command = installCommand([
      { name: 'sops-age-key', size: 189 },
      { name: 'sops-secrets', size: 0 },
    ]);
    expect(command).toContain(`mkdir -p ${GUEST_STAGING_DIR}`);
    expect(command).toContain(`dd bs=1 count=189 of=${GUEST_STAGING_DIR}/sops-age-key.new`);
    expect(command).toContain(`mv -f ${GUEST_STAGING_DIR}/sops-secrets.new ${GUEST_STAGING_DIR}/sops-secrets`);
    expect(command.endsWith(`exec ${RELOAD_HOOK} sops-age-key sops-secrets`)).toBe(true);
  });

  it('refuses anything that is not a credential name or a byte count, so nothing else gets into the line', () => {
    for (const name of ['a;reboot', '$(reboot)', 'a b', '-rf', '../etc/passwd', 'a/b', '', 'n'.repeat(29), "a'b"])
      expect(() => installCommand([{ name, size: 1 }])).toThrow(`Not a credential name: ${JSON.stringify(name)}`);
    for (const size of [-1, 1.5, Number.NaN, 1024 * 1024 + 1])
      expect(() => installCommand([{ name: 'k', size }])).toThrow(`Credential k: size ${size} is not a byte count`);
    expect(() => installCommand([])).toThrow('No credential to install');
    expect(() => installCommand([{ name: 'k', size: 1 }, { name: 'k', size: 2 }])).toThrow('Credential k given twice');
  });

  describe.each(['sh', 'busybox sh'])('run by %s', (shell) => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'nx-nixos-credentials-'));
      mkdirSync(join(dir, 'bin'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const run = (command: string, input: Buffer) => {
      const [program, ...args] = shell.split(' ');
      return spawnSync(program, [...args, '-c', command], { input, encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` } });
    };

    it('splits stdin into the files byte for byte (no read-ahead) and runs the hook with their names', () => {
      writeFileSync(join(dir, 'bin', RELOAD_HOOK), `#!/bin/sh\nfor n in "$@"; do echo "got $n"; done\n`);
      chmodSync(join(dir, 'bin', RELOAD_HOOK), 0o755);
      const first = Buffer.from('first\nsecret\n');
      const second = Buffer.from([0, 255, 10, 39, 34, 36]);
      const staging = join(dir, 'staged');
      const result = run(installCommand([{ name: 'one', size: first.length }, { name: 'empty', size: 0 }, { name: 'two', size: second.length }], staging), Buffer.concat([first, second]));
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('got one\ngot empty\ngot two\n');
      expect(result.status).toBe(0);
      expect(readFileSync(join(staging, 'one'))).toEqual(first);
      expect(readFileSync(join(staging, 'empty'))).toEqual(Buffer.alloc(0));
      expect(readFileSync(join(staging, 'two'))).toEqual(second);
      expect(statSync(staging).mode & 0o777).toBe(0o700);
      expect(statSync(join(staging, 'one')).mode & 0o777).toBe(0o600);
    });

    it('stops before reading anything when the guest has no hook, and on a short read', () => {
      const missing = run(installCommand([{ name: 'one', size: 3 }], join(dir, 'staged')), Buffer.from('abc'));
      expect(missing.stderr.trim()).toBe(HOOK_MISSING_LINE);
      expect(missing.status).toBe(127);
      expect(() => statSync(join(dir, 'staged'))).toThrow();

      writeFileSync(join(dir, 'bin', RELOAD_HOOK), '#!/bin/sh\necho ran\n');
      chmodSync(join(dir, 'bin', RELOAD_HOOK), 0o755);
      const short = run(installCommand([{ name: 'one', size: 10 }], join(dir, 'staged')), Buffer.from('abc'));
      expect(short.stderr.trim()).toBe('nx-nixos: one: fewer than 10 bytes arrived');
      expect(short.stdout).toBe('');
      expect(short.status).toBe(1);
      expect(() => statSync(join(dir, 'staged', 'one'))).toThrow();
    });
  });
});

describe('readSecret', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nx-nixos-read-secret-'));
    writeFileSync(join(dir, 'key.txt'), 'AGE-SECRET-KEY-1');
    symlinkSync(join(dir, 'key.txt'), join(dir, 'link.txt'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file and refuses a symlink, a folder and a missing file by name', () => {
    expect(readSecret({ name: 'k', file: join(dir, 'key.txt') }).toString()).toBe('AGE-SECRET-KEY-1');
    expect(() => readSecret({ name: 'k', file: join(dir, 'link.txt') })).toThrow(`--secret k: cannot read ${join(dir, 'link.txt')} (a symlink; give the file it points to).`);
    expect(() => readSecret({ name: 'k', file: dir })).toThrow(`--secret k: cannot read ${dir} (not a regular file).`);
    expect(() => readSecret({ name: 'k', file: join(dir, 'none') })).toThrow('(ENOENT)');
  });
});

describe('maskReportLine', () => {
  it('hides every line of the secrets the guest might echo, and secret-shaped text', () => {
    const fragments = secretFragments([Buffer.from('# public key: age1abc\nAGE-SECRET-KEY-1QQQQ\n'), Buffer.from('hunter22')]);
    expect(maskReportLine('changed: fixture-token', fragments)).toBe('changed: fixture-token');
    expect(maskReportLine('oops AGE-SECRET-KEY-1QQQQ and hunter22', fragments)).toBe('oops *** and ***');
    expect(maskReportLine('password=Zq8vX2mN4pL7', [])).not.toContain('Zq8vX2mN4pL7');
  });
});
