/**
 * Issue targets for sharing images between machines, measured on real nix with a fixture built like an image:
 * a "closure" derivation of 45 packages (programs and libraries of random bytes, text documentation) and an
 * image derivation that assembles a root file system from it into one uncompressed cpio archive (an
 * initramfs) of about 130 MB.
 * - The push step as a share of the build's wall time (target <= 10% for images of 100 MB and more), for
 *   `pushToCache` (zstd, signed while copying) and, in the same process, the former way (`nix store sign`,
 *   then `nix copy` with zstd), no compression, and zstd with parallel-compression. Nix's default xz is left
 *   out: it took 28x the build in an earlier run (see docs/how-to/team-cache-and-remote-builders.md).
 *   The build is measured twice per run: from scratch (closure and image) and as an image rebuild over a
 *   built closure, the usual case after a configuration change.
 * - Machine B's time to a ready image by substituting it from the binary cache (what follows an Nx cache hit
 *   on build-image) vs building it from scratch on B. Both machines share this host's store, so "B" is
 *   simulated by deleting the image from the store first.
 * Run: node -r @swc-node/register tools/bench/caches.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNix } from '../../packages/nx-nixos/src/nix/command';
import { pushToCache } from '../../packages/nx-nixos/src/nix/copy';
import { buildImage, ensureImage, outLinkPath } from '../../packages/nx-nixos/src/nix/image';
import { profileSchema } from '../../packages/nx-nixos/src/profile/schema';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson } from '../../packages/nx-nixos/src/testing/workspace';
import { median, timeMsAsync, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 5);
const PACKAGES = 45;

const closureScript = (nonce: string) =>
  `true ${nonce}; for p in $($bb seq 1 ${PACKAGES}); do
  d=$out/pkg-$p; $bb mkdir -p $d/bin $d/lib $d/share/doc
  $bb dd if=/dev/urandom of=$d/bin/prog bs=64K count=16 2>/dev/null
  $bb dd if=/dev/urandom of=$d/lib/libp.so bs=64K count=$((p % 5 * 4 + 4)) 2>/dev/null
  for f in $($bb seq 1 25); do $bb seq $((p * 1000 + f)) $((p * 1000 + f + 8000)) > $d/share/doc/file-$f.txt; done
done`;

const imageScript = (nonce: string) =>
  `$bb mkdir -p root/etc $out; $bb cp -r \${pkgs.closure} root/system; echo ${nonce} > root/etc/build-id
cd root; $bb find . | $bb sort | $bb cpio -o -H newc > $out/nixos.img 2>/dev/null`;

const flake = (closureNonce: string, imageNonce: string) =>
  hermeticFlake({ packages: { closure: closureScript(closureNonce), big: imageScript(imageNonce) } });

async function main() {
  process.env.NIX_CONFIG = 'substituters =';
  const tmp = mkdtempSync(join(tmpdir(), 'bench-caches-'));
  const keys = [join(tmp, 'secret'), join(tmp, 'public')];
  if (spawnSync('nix-store', ['--generate-binary-cache-key', 'bench-1', ...keys]).status !== 0) throw new Error('key generation failed');
  const publicKey = readFileSync(keys[1], 'utf8').trim();
  const input = fixtureProfile('big', { image: { kind: 'disk', format: 'raw', file: 'nixos.img' } });
  const profile = profileSchema.parse(input);
  const ws = createTestWorkspace({ files: { 'profiles/big/profile.json': profileJson(input) } });
  const samples = { buildFromScratch: [] as number[], imageRebuild: [] as number[], substitute: [] as number[] };
  const push: Record<string, number[]> = { pushToCache: [], signThenCopyZstd: [], noCompression: [], zstdParallel: [] };
  const cacheBytes: Record<string, number> = {};
  let sizeBytes = 0;
  const build = async (closureNonce: string, imageNonce: string) => {
    ws.write('flake.nix', flake(closureNonce, imageNonce));
    ws.commit(`${closureNonce} ${imageNonce}`);
    let result!: Awaited<ReturnType<typeof buildImage>>;
    const ms = await timeMsAsync(async () => (result = await buildImage({ workspaceRoot: ws.root, profile, profileDir: 'profiles/big', warn: () => undefined })));
    return { ms, result };
  };
  const ok = async (promise: ReturnType<typeof pushToCache>) => {
    const result = await promise;
    if (!result.ok) throw new Error(result.reason);
  };
  try {
    for (let run = 0; run < RUNS; run++) {
      const nonce = `bench-${Date.now()}-${run}`;
      const scratch = await build(nonce, `${nonce}-a`);
      const closureDrv = scratch.result.build.monitor.finished.find((b) => b.name === 'closure')?.drvPath;
      if (!closureDrv) throw new Error(`run ${run}: the closure was not built`);
      samples.buildFromScratch.push(scratch.ms);
      const rebuild = await build(nonce, `${nonce}-b`);
      if (rebuild.result.build.monitor.finished.map((b) => b.name).join() !== 'big') throw new Error(`run ${run}: the image rebuild built more than the image`);
      samples.imageRebuild.push(rebuild.ms);
      const { storePath } = rebuild.result.manifest;
      sizeBytes = rebuild.result.manifest.sizeBytes;

      const cache = (variant: string) => join(tmp, `cache-${run}-${variant}`);
      const variants: Record<string, () => Promise<void>> = {
        pushToCache: () => ok(pushToCache({ cwd: ws.root, paths: [storePath], to: `file://${cache('pushToCache')}`, signingKeyFile: keys[0] })),
        signThenCopyZstd: async () => {
          const sign = await runNix('nix', ['store', 'sign', '--recursive', '--key-file', keys[0], storePath]);
          const copy = await runNix('nix', ['copy', '--to', `file://${cache('signThenCopyZstd')}?compression=zstd`, storePath]);
          if (sign.code !== 0 || copy.code !== 0) throw new Error(`sign/copy failed: ${[...sign.stderrTail, ...copy.stderrTail].join('\n')}`);
        },
        noCompression: () => ok(pushToCache({ cwd: ws.root, paths: [storePath], to: `file://${cache('noCompression')}?compression=none`, signingKeyFile: keys[0] })),
        zstdParallel: () =>
          ok(pushToCache({ cwd: ws.root, paths: [storePath], to: `file://${cache('zstdParallel')}?compression=zstd&parallel-compression=true`, signingKeyFile: keys[0] })),
      };
      // A different order each run, so no variant always goes first.
      const names = Object.keys(variants);
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + run) % names.length];
        push[name].push(await timeMsAsync(variants[name]));
      }

      for (const name of names) cacheBytes[name] = folderBytes(cache(name));
      rmSync(outLinkPath(ws.root, 'big'), { force: true });
      const closurePath = (await runNix('nix-store', ['--query', '--outputs', closureDrv])).stdout.trim();
      if (spawnSync('nix-store', ['--delete', storePath, scratch.result.manifest.storePath]).status !== 0) throw new Error(`could not delete ${storePath}`);
      let how = '';
      samples.substitute.push(
        await timeMsAsync(async () => {
          how = (await ensureImage({ workspaceRoot: ws.root, profile, profileDir: 'profiles/big', sharing: { substituters: [`file://${cache('pushToCache')}`], trustedPublicKeys: [publicKey] } })).how;
        }),
      );
      if (how !== 'substituted') throw new Error(`run ${run}: the image was ${how}, not substituted`);
      rmSync(outLinkPath(ws.root, 'big'), { force: true });
      spawnSync('nix-store', ['--delete', storePath, closurePath]);
      for (const name of names) rmSync(cache(name), { recursive: true, force: true });
    }
  } finally {
    ws.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
  const m = Object.fromEntries([...Object.entries(samples), ...Object.entries(push)].map(([k, v]) => [k, median(v)]));
  const share = (of: 'buildFromScratch' | 'imageRebuild') => Object.fromEntries(Object.keys(push).map((k) => [k, m[k] / m[of]]));
  writeResults('caches', {
    runs: RUNS,
    note: 'Medians on a shared, noisy 2-core machine; other jobs ran at the same time.',
    imageBytes: sizeBytes,
    cacheBytes,
    medianMs: m,
    samplesMs: { ...samples, ...push },
    pushShareOfBuild: { fromScratch: share('buildFromScratch'), imageRebuild: share('imageRebuild') },
    pushToCacheVsSignThenCopy: m.pushToCache / m.signThenCopyZstd,
    readyOnBViaSubstitutionVsBuildFromScratch: m.substitute / m.buildFromScratch,
    pushTargetMet: { fromScratch: m.pushToCache / m.buildFromScratch <= 0.1, imageRebuild: m.pushToCache / m.imageRebuild <= 0.1 },
  });
}

function folderBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath ?? e.path, e.name)).size, 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
