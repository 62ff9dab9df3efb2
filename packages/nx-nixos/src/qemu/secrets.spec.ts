import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSecrets } from './secrets';

describe('parseSecrets', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nx-nixos-secrets-'));
    writeFileSync(join(dir, 'age.txt'), 'AGE-SECRET-KEY-1');
    symlinkSync(join(dir, 'age.txt'), join(dir, 'link.txt'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves NAME=FILE relative to the working directory without reading the file', () => {
    expect(parseSecrets(['sops-age-key=age.txt'], dir)).toEqual([{ name: 'sops-age-key', file: join(dir, 'age.txt') }]);
  });

  it('rejects malformed values, bad names, duplicates and unreadable files precisely', () => {
    expect(() => parseSecrets(['age.txt'], dir)).toThrow('--secret "age.txt": expected NAME=FILE');
    expect(() => parseSecrets(['a/b=age.txt'], dir)).toThrow('--secret a/b: a credential name holds');
    expect(() => parseSecrets(['k=age.txt', 'k=age.txt'], dir)).toThrow('--secret k: given twice');
    expect(() => parseSecrets(['k=missing.txt'], dir)).toThrow(`--secret k: cannot read ${join(dir, 'missing.txt')} (ENOENT)`);
    expect(() => parseSecrets(['k=.'], dir)).toThrow('not a regular file');
    expect(() => parseSecrets(['k=link.txt'], dir)).toThrow(`--secret k: cannot read ${join(dir, 'link.txt')} (a symlink; give the file it points to)`);
    expect(parseSecrets([`${'n'.repeat(28)}=age.txt`], dir)).toHaveLength(1);
    expect(() => parseSecrets([`${'n'.repeat(29)}=age.txt`], dir)).toThrow(
      `--secret ${'n'.repeat(29)}: a credential name holds at most 28 characters (QEMU's fw_cfg limit of 55 for "opt/io.systemd.credentials/NAME"); this one has 29`,
    );
    expect(() => parseSecrets(['ssh.authorized_keys.root=age.txt'], dir)).toThrow('--secret ssh.authorized_keys.root: the plugin sets this credential itself');
  });
});
