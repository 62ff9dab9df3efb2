/**
 * Issue targets for sharing images between machines, measured on real nix with a generated 120 MB image:
 * - machine B's time to a ready image by substituting it from a binary cache (what follows an Nx cache hit on
 *   build-image) vs building it from scratch on B: ratio;
 * - the push step (sign + `nix copy --to file://`, Nix's default xz and ?compression=zstd) as a share of the
 *   build's wall time (target <= 10%).
 * Both machines share this host's store, so "B" is simulated by deleting the image from the store first.
 * Run: node -r @swc-node/register tools/bench/caches.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushToCache } from '../../packages/nx-nixos/src/nix/copy';
import { buildImage, ensureImage, outLinkPath } from '../../packages/nx-nixos/src/nix/image';
import { profileSchema } from '../../packages/nx-nixos/src/profile/schema';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson } from '../../packages/nx-nixos/src/testing/workspace';
import { median, timeMsAsync, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 5);
const IMAGE_MB = 120;

// Like a disk image: a third incompressible, the rest repetitive.
const bigImage = (nonce: string) =>
  `true ${nonce}; $bb mkdir $out; ` +
  `{ $bb dd if=/dev/urandom bs=1M count=${IMAGE_MB / 3} 2>/dev/null; $bb yes "filesystem block ${nonce}" | $bb head -c ${(IMAGE_MB * 2 * 1024 * 1024) / 3}; } > $out/nixos.qcow2`;

async function main() {
  process.env.NIX_CONFIG = 'substituters =';
  const tmp = mkdtempSync(join(tmpdir(), 'bench-caches-'));
  const keys = [join(tmp, 'secret'), join(tmp, 'public')];
  if (spawnSync('nix-store', ['--generate-binary-cache-key', 'bench-1', ...keys]).status !== 0) throw new Error('key generation failed');
  const publicKey = readFileSync(keys[1], 'utf8').trim();
  const profile = profileSchema.parse(fixtureProfile('big'));
  const ws = createTestWorkspace({ files: { 'profiles/big/profile.json': profileJson(fixtureProfile('big')) } });
  const build: number[] = [];
  const push: number[] = [];
  const pushZstd: number[] = [];
  const substitute: number[] = [];
  let sizeBytes = 0;
  try {
    for (let run = 0; run < RUNS; run++) {
      const cache = join(tmp, `cache-${run}`);
      ws.write('flake.nix', hermeticFlake({ packages: { big: bigImage(`bench-${Date.now()}-${run}`) } }));
      ws.commit(`run ${run}`);
      let storePath = '';
      build.push(await timeMsAsync(async () => ((storePath = (await buildImage({ workspaceRoot: ws.root, profile, warn: () => undefined })).manifest.storePath))));
      push.push(
        await timeMsAsync(async () => {
          const result = await pushToCache({ cwd: ws.root, paths: [storePath], to: `file://${cache}`, signingKeyFile: keys[0] });
          if (!result.ok) throw new Error(result.reason);
        }),
      );
      pushZstd.push(
        await timeMsAsync(async () => {
          const result = await pushToCache({ cwd: ws.root, paths: [storePath], to: `file://${cache}-zstd?compression=zstd`, signingKeyFile: keys[0] });
          if (!result.ok) throw new Error(result.reason);
        }),
      );
      sizeBytes = JSON.parse(readFileSync(join(ws.root, 'artifacts/images/big/manifest.json'), 'utf8')).sizeBytes;
      rmSync(outLinkPath(ws.root, 'big'), { force: true });
      if (spawnSync('nix-store', ['--delete', storePath]).status !== 0) throw new Error(`could not delete ${storePath}`);
      let how = '';
      substitute.push(
        await timeMsAsync(async () => {
          how = (await ensureImage({ workspaceRoot: ws.root, profile, sharing: { substituters: [`file://${cache}-zstd`], trustedPublicKeys: [publicKey] } })).how;
        }),
      );
      if (how !== 'substituted') throw new Error(`run ${run}: the image was ${how}, not substituted`);
      rmSync(outLinkPath(ws.root, 'big'), { force: true });
      spawnSync('nix-store', ['--delete', storePath]);
    }
  } finally {
    ws.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
  const m = { build: median(build), pushXz: median(push), pushZstd: median(pushZstd), substitute: median(substitute) };
  writeResults('caches', {
    runs: RUNS,
    imageBytes: sizeBytes,
    medianMs: m,
    samplesMs: { build, pushXz: push, pushZstd, substitute },
    readyOnBViaSubstitutionVsBuildRatio: m.substitute / m.build,
    pushShareOfBuild: { xzDefault: m.pushXz / m.build, zstd: m.pushZstd / m.build },
    pushTargetMet: m.pushZstd / m.build <= 0.1,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
