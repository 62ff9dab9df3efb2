import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { runNix, stripAnsi } from './command';

/** Binary-cache and remote-builder settings shared by build-image and vm-test. */
export interface NixSharingOptions {
  /** Binary caches to substitute from, e.g. ["http://cache.example:8080", "s3://bucket?region=eu-west-1"]. */
  substituters?: string[];
  /** Public keys ("name:base64") whose signatures are trusted on substituted paths. */
  trustedPublicKeys?: string[];
  /** Remote builders in Nix machines syntax ("ssh-ng://host x86_64-linux - 2 1 kvm") or "@/path/to/machines". */
  builders?: string;
  /** Local build jobs; 0 sends every build to the builders. */
  maxJobs?: number;
  /** System features of the local machine, e.g. ["kvm", "nixos-test"]. */
  systemFeatures?: string[];
}

/**
 * The `nix build` arguments for the sharing options (Nix 2.8 accepts all of them for a root single-user store).
 * maxJobs is not among them: nixBuild weighs it against the Nix configuration (parallelism.ts).
 */
export function sharingArgs(options: NixSharingOptions): string[] {
  const args: string[] = [];
  if (options.substituters?.length) args.push('--option', 'extra-substituters', options.substituters.join(' '));
  if (options.trustedPublicKeys?.length) args.push('--option', 'extra-trusted-public-keys', options.trustedPublicKeys.join(' '));
  if (options.builders !== undefined) args.push('--option', 'builders', options.builders);
  if (options.systemFeatures?.length) args.push('--option', 'system-features', options.systemFeatures.join(' '));
  return args;
}

export interface PushRequest {
  cwd: string;
  /** Store paths to sign and copy, with their closures. */
  paths: string[];
  /** Destination store URI: file:///dir, http(s)://..., s3://bucket... */
  to: string;
  /** Secret key file from `nix-store --generate-binary-cache-key`, relative to cwd or absolute. */
  signingKeyFile?: string;
}

export type PushResult = { ok: true; seconds: number } | { ok: false; reason: string };

/** Removes secret material from text that is about to be shown: the key file's content and any secret-key= value. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    out = out.split(secret).join('<redacted>');
    const b64 = secret.includes(':') ? secret.slice(secret.indexOf(':') + 1) : '';
    if (b64.length >= 16) out = out.split(b64).join('<redacted>');
  }
  return out.replace(/(secret-key=)[^&\s'"]+/g, '$1<redacted>');
}

/**
 * Signs the paths' closures with the key file and copies them to the cache. Never throws for a failed push:
 * the caller turns the reason into a warning, the build stays good.
 */
export async function pushToCache(request: PushRequest): Promise<PushResult> {
  const started = Date.now();
  const secrets: string[] = [];
  const fail = (reason: string): PushResult => ({ ok: false, reason: scrubSecrets(reason, secrets) });
  let keyFile: string | undefined;
  if (request.signingKeyFile) {
    const absoluteKeyFile = isAbsolute(request.signingKeyFile) ? request.signingKeyFile : resolve(request.cwd, request.signingKeyFile);
    if (!existsSync(absoluteKeyFile)) return fail(`signingKeyFile ${request.signingKeyFile} does not exist. Create one with: nix-store --generate-binary-cache-key <name> <secret-file> <public-file>`);
    let key: string;
    try {
      key = readFileSync(absoluteKeyFile, 'utf8').trim();
    } catch (e) {
      return fail(`signingKeyFile ${request.signingKeyFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    secrets.push(key);
    if (!/^[^:\s]+:[A-Za-z0-9+/]+=*$/.test(key))
      return fail(`signingKeyFile ${request.signingKeyFile} is not a Nix secret key ("name:base64"). Create one with: nix-store --generate-binary-cache-key <name> <secret-file> <public-file>`);
    keyFile = absoluteKeyFile;
  }
  const to = pushStoreUri(request.to, keyFile);
  if (keyFile && !to.includes('secret-key=')) {
    const sign = await runNix('nix', ['store', 'sign', '--recursive', '--key-file', keyFile, ...request.paths], { cwd: request.cwd });
    if (sign.code !== 0) return fail(`nix store sign failed: ${lastError(sign.stderrTail)}`);
  }
  const copy = await runNix('nix', ['copy', '--to', to, ...request.paths], { cwd: request.cwd });
  if (copy.code !== 0) return fail(`nix copy --to ${request.to} failed: ${lastError(copy.stderrTail)}`);
  return { ok: true, seconds: (Date.now() - started) / 1000 };
}

const BINARY_CACHE_URI = /^(file|https?|s3):\/\//;

/**
 * The URI `nix copy --to` gets. For binary caches (file, http(s), s3) Nix signs while it uploads
 * (`secret-key=`), which saves a separate `nix store sign` over the closure, and compresses with zstd unless
 * the URI names a compression: Nix's default xz costs tens of times the build of a large image. Other stores
 * (ssh://, ssh-ng://, local) are returned as they are and signed beforehand.
 */
export function pushStoreUri(to: string, keyFile?: string): string {
  if (!BINARY_CACHE_URI.test(to)) return to;
  const [base, query = ''] = to.split(/\?(.*)/s, 2);
  const names = new Set(query.split('&').filter(Boolean).map((p) => p.split('=')[0]));
  const params = query ? [query] : [];
  if (!names.has('compression')) params.push('compression=zstd');
  // Nix splits the query at & and =, so a key path holding them (or spaces) is signed the other way.
  if (keyFile && !names.has('secret-key') && !/[&=?#\s%]/.test(keyFile)) params.push(`secret-key=${keyFile}`);
  return params.length ? `${base}?${params.join('&')}` : base;
}

function lastError(tail: string[]): string {
  const lines = tail.map(stripAnsi).filter((l) => l.trim());
  const error = lines.filter((l) => /error/i.test(l)).slice(-2);
  return (error.length ? error : lines.slice(-2)).join(' ').trim() || 'no message';
}

/** The executor options for binary caches, remote builders and pushing. */
export interface SharingExecutorOptions extends NixSharingOptions {
  pushTo?: string;
  signingKeyFile?: string;
}

export function sharingFromOptions(options: SharingExecutorOptions): { sharing: NixSharingOptions; push?: { to: string; signingKeyFile?: string } } {
  const { substituters, trustedPublicKeys, builders, maxJobs, systemFeatures, pushTo, signingKeyFile } = options;
  if (signingKeyFile && !pushTo) throw new Error('Option signingKeyFile is set but pushTo is not: set pushTo to the binary cache to push to (e.g. file:///var/cache/nix or s3://bucket).');
  return { sharing: { substituters, trustedPublicKeys, builders, maxJobs, systemFeatures }, push: pushTo ? { to: pushTo, signingKeyFile } : undefined };
}
