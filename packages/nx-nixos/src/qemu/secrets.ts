import { accessSync, constants, lstatSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { SSH_CREDENTIALS } from '../ssh/ssh';
import { CREDENTIAL_NAME, type SecretFile } from './argv';

/** QEMU's fw_cfg file names hold at most 55 characters, "opt/io.systemd.credentials/" included. */
export const MAX_CREDENTIAL_NAME_LENGTH = 55 - 'opt/io.systemd.credentials/'.length;

/**
 * Parses `--secret NAME=FILE` values; checks the file is a readable regular file (a symlink is refused: it
 * could point anywhere) but never reads it. FILE may lie outside the workspace (an age key in ~/.config).
 */
export function parseSecrets(values: readonly string[], cwd: string): SecretFile[] {
  const seen = new Set<string>();
  return values.map((value) => {
    const eq = value.indexOf('=');
    if (eq <= 0 || eq === value.length - 1) throw new Error(`--secret "${value}": expected NAME=FILE, e.g. --secret sops-age-key=$HOME/.config/sops/age/keys.txt`);
    const name = value.slice(0, eq);
    const file = value.slice(eq + 1);
    if (!CREDENTIAL_NAME.test(name)) throw new Error(`--secret ${name}: a credential name holds letters, digits, "_", ".", "@" and "-" only`);
    if (name.length > MAX_CREDENTIAL_NAME_LENGTH)
      throw new Error(`--secret ${name}: a credential name holds at most ${MAX_CREDENTIAL_NAME_LENGTH} characters (QEMU's fw_cfg limit of 55 for "opt/io.systemd.credentials/NAME"); this one has ${name.length}`);
    if (SSH_CREDENTIALS.includes(name)) throw new Error(`--secret ${name}: the plugin sets this credential itself (the instance's SSH identity); keys of your own belong in the image's authorized keys`);
    if (seen.has(name)) throw new Error(`--secret ${name}: given twice`);
    seen.add(name);
    const path = isAbsolute(file) ? file : resolve(cwd, file);
    checkReadableFile(name, file, path);
    return { name, file: path };
  });
}

function checkReadableFile(name: string, given: string, path: string): void {
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) throw new Error('a symlink; give the file it points to');
    if (!stat.isFile()) throw new Error('not a regular file');
    accessSync(path, constants.R_OK);
  } catch (e) {
    const list = /,[A-Za-z0-9_][A-Za-z0-9_.@-]*=/.test(given) ? ' Give --secret once per credential: one value is one NAME=FILE, commas included.' : '';
    throw new Error(`--secret ${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).${list}`, { cause: e });
  }
}
