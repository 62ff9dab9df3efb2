/**
 * Installing credentials into a running guest over SSH: the remote command (built from validated names and
 * byte counts only, the contents travel over stdin) and the masking of what the guest reports.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { redactSecrets } from '../checks/hygiene/redact';
import { CREDENTIAL_NAME, type SecretFile } from '../qemu/argv';
import { MAX_CREDENTIAL_NAME_LENGTH } from '../qemu/secrets';
import { runSshWithInput, shellQuote, sshArgv, type SshTarget } from './ssh';

/** The guest's program that applies the staged credentials named on its command line: the contract with the guest. */
export const RELOAD_HOOK = 'nx-nixos-reload-credentials';
/** Where the remote command stages each credential (root only, 0600), as the file named after it. */
export const GUEST_STAGING_DIR = '/run/nx-nixos/credentials';
/** What the remote command prints (on stderr, exit 127) when the guest has no hook. */
export const HOOK_MISSING_LINE = `nx-nixos: ${RELOAD_HOOK} is not on the guest's PATH`;
/** systemd refuses credentials over 1 MiB (CREDENTIAL_SIZE_MAX); the guest gets nothing bigger either. */
export const MAX_CREDENTIAL_BYTES = 1024 * 1024;

export interface StagedCredential {
  name: string;
  /** The content's length in bytes: the guest reads exactly this many from stdin. */
  size: number;
}

/**
 * The one line the guest's shell runs: check the hook is there (before reading anything), then for each
 * credential read exactly `size` bytes of stdin into `<dir>/<name>.new`, check the count, rename it into
 * place, and hand over to the hook. `dd bs=1` reads byte by byte: `head -c` of busybox reads ahead through
 * stdio and would swallow the next credential. Only names that are credential names and integer sizes get
 * into the line, so no content or shell syntax can.
 */
export function installCommand(credentials: readonly StagedCredential[], dir = GUEST_STAGING_DIR): string {
  if (credentials.length === 0) throw new Error('No credential to install: give --secret NAME=FILE at least once.');
  const seen = new Set<string>();
  const steps = ['set -e', 'umask 077', `command -v ${RELOAD_HOOK} >/dev/null 2>&1 || { echo ${shellQuote(HOOK_MISSING_LINE)} >&2; exit 127; }`, `mkdir -p ${shellQuote(dir)}`, `chmod 700 ${shellQuote(dir)}`];
  for (const { name, size } of credentials) {
    if (!CREDENTIAL_NAME.test(name) || name.length > MAX_CREDENTIAL_NAME_LENGTH) throw new Error(`Not a credential name: ${JSON.stringify(name)}`);
    if (seen.has(name)) throw new Error(`Credential ${name} given twice`);
    seen.add(name);
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_CREDENTIAL_BYTES) throw new Error(`Credential ${name}: size ${size} is not a byte count up to ${MAX_CREDENTIAL_BYTES}`);
    const file = shellQuote(`${dir}/${name}`);
    const partial = shellQuote(`${dir}/${name}.new`);
    steps.push(
      `dd bs=1 count=${size} of=${partial} 2>/dev/null`,
      `[ $(wc -c < ${partial}) -eq ${size} ] || { echo ${shellQuote(`nx-nixos: ${name}: fewer than ${size} bytes arrived`)} >&2; rm -f ${partial}; exit 1; }`,
      `mv -f ${partial} ${file}`,
    );
  }
  steps.push(`exec ${RELOAD_HOOK} ${credentials.map((c) => shellQuote(c.name)).join(' ')}`);
  return steps.join('; ');
}

/** The parts of the secrets' contents worth hiding when the guest echoes them: each line of 8 characters or more (shorter ones are YAML keys and such). */
export function secretFragments(contents: readonly Buffer[]): string[] {
  const lines = contents.flatMap((c) => c.toString('utf8').split(/\r?\n/).map((l) => l.trim()));
  // Longest first, so that a line containing another is masked whole.
  return [...new Set(lines.filter((l) => l.length >= 8))].sort((a, b) => b.length - a.length);
}

/** A line of the guest's report as it may be shown: the secrets' own text replaced, then anything secret-shaped masked. */
export function maskReportLine(line: string, fragments: readonly string[]): string {
  let out = line;
  for (const fragment of fragments) out = out.split(fragment).join('***');
  return redactSecrets(out);
}

/** A secret's content, read without following a symlink; only a regular file of at most 1 MiB. */
export function readSecret({ name, file }: SecretFile): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > MAX_CREDENTIAL_BYTES) throw new Error(`${stat.size} bytes; a credential holds at most ${MAX_CREDENTIAL_BYTES} (1 MiB)`);
    return readFileSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ELOOP' ? 'a symlink; give the file it points to' : (code ?? (e as Error).message);
    throw new Error(`--secret ${name}: cannot read ${file} (${reason}).`, { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface InstallOutcome {
  /** ssh's exit code: the hook's, 255 when ssh failed itself. */
  code: number;
  /** The guest has no hook: nothing was installed. */
  hookMissing: boolean;
}

export interface SecretContent {
  name: string;
  content: Buffer;
}

/**
 * Installs the secrets into the guest in one ssh connection: contents on stdin, the command of
 * installCommand; the hook's report goes to `report` line by line, masked.
 */
export async function installSecrets(target: SshTarget, secrets: readonly SecretContent[], report: (line: string, stream: 'stdout' | 'stderr') => void): Promise<InstallOutcome> {
  const contents = secrets.map((s) => s.content);
  const command = installCommand(secrets.map((s) => ({ name: s.name, size: s.content.length })));
  const fragments = secretFragments(contents);
  let hookMissing = false;
  // The command is one word already: sshArgv would quote it once more.
  const argv = [...sshArgv(target), '--', command];
  const code = await runSshWithInput(argv, Buffer.concat(contents), (line, stream) => {
    if (stream === 'stderr' && line === HOOK_MISSING_LINE) hookMissing = true;
    else report(maskReportLine(line, fragments), stream);
  });
  return { code, hookMissing: hookMissing && code === 127 };
}
