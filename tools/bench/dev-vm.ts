/**
 * The development VM against the image, on the real fixture guest under TCG, in one process:
 * - edit to ready: write a new page into the fixture's module file and commit it, then either build the
 *   development VM and launch it (buildDevVm + launchVm) or build the image and launch it (buildImage +
 *   launchVm), until the guest serves the new page. Alternated, a fresh edit each time. The system's
 *   closure holds a ballast of BALLAST_MIB MiB of incompressible data: the image copies it (with the page)
 *   into its initramfs, the development VM leaves it in the host store. Counts the derivations each path
 *   built from Nix's progress stream.
 * - launch overhead: the launcher (launchVm of the development VM: ports, state, QMP, readiness) against
 *   the same run script started by hand with the same disk and port, polling the port every 100 ms.
 * Run: node -r @swc-node/register tools/bench/dev-vm.ts [runs] [ballastMiB]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildDevVm } from '../../packages/nx-nixos/src/nix/dev-vm';
import { buildImage } from '../../packages/nx-nixos/src/nix/image';
import { profileSchema } from '../../packages/nx-nixos/src/profile/schema';
import type { BootImage } from '../../packages/nx-nixos/src/qemu/boot';
import { launchVm } from '../../packages/nx-nixos/src/qemu/launch';
import { pollForAnswer } from '../../packages/nx-nixos/src/qemu/readiness';
import { stopVm } from '../../packages/nx-nixos/src/qemu/stop';
import { createTestWorkspace, profileJson } from '../../packages/nx-nixos/src/testing/workspace';
import { DEV_VM_MODULE_FILE, devVmFlakeFiles, ensureDevVmFixture, FIXTURE_HTTP_PORT, fixtureVmProfile } from '../fixtures/vm-fixture';
import { median, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 3);
const BALLAST_MIB = Number(process.argv[3] ?? 256);
const PORT = 31580;
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function main() {
  const fixture = ensureDevVmFixture((line) => console.error(line));
  const input = fixtureVmProfile(fixture, 'bench', PORT, {
    // The image path's guest holds the ballast in its initramfs: it needs the memory for it, twice.
    resources: { memoryMiB: 512 + 3 * BALLAST_MIB, cpus: 1, diskGiB: 1 },
    readiness: { port: 'http', probe: 'http', path: '/store.html', timeoutSeconds: 300 },
  });
  const profile = profileSchema.parse(input);
  const ws = createTestWorkspace({ files: { ...devVmFlakeFiles(fixture, 'bench', 'page 0\n', { ballastMiB: BALLAST_MIB }), 'profiles/bench/profile.json': profileJson(input) } });
  const common = { workspaceRoot: ws.root, profile, profileDir: 'profiles/bench', offline: true };
  let edits = 0;
  const edit = () => {
    edits++;
    ws.write(DEV_VM_MODULE_FILE, `page ${edits} of ${process.pid}\n`);
    ws.commit(`edit ${edits}`);
    return `page ${edits} of ${process.pid}\n`;
  };
  const serves = async (expected: string) => {
    const text = await (await fetch(`http://127.0.0.1:${PORT}/store.html`)).text();
    if (text !== expected) throw new Error(`the guest serves ${JSON.stringify(text)}, not ${JSON.stringify(expected)}`);
  };

  const devVm = { ms: [] as number[], built: [] as string[][] };
  const image = { ms: [] as number[], built: [] as string[][], buildMs: [] as number[] };
  const overhead = { byHand: [] as number[], launcher: [] as number[] };
  try {
    // Warm up: the ballast, the kernel and initrd in the store, one build of each path.
    await buildDevVm(common);
    await buildImage(common);
    for (let i = 0; i < RUNS; i++) {
      let page = edit();
      let start = now();
      const dev = await buildDevVm(common);
      let vm = await launchVm({ ...common, image: { storePath: dev.manifest.storePath, image: { kind: 'dev-vm', runScript: dev.manifest.runScript } }, accel: 'tcg', instance: 'dev' });
      devVm.ms.push(now() - start);
      devVm.built.push(dev.build.monitor.finished.map((b) => b.name).sort());
      await serves(page);
      vm.detach();
      await stopVm(ws.root, 'bench', 'dev', { graceSeconds: 10 });

      page = edit();
      start = now();
      const built = await buildImage(common);
      image.buildMs.push(now() - start);
      vm = await launchVm({ ...common, image: { storePath: built.manifest.storePath, image: built.manifest.image }, accel: 'tcg', instance: 'image' });
      image.ms.push(now() - start);
      image.built.push(built.build.monitor.finished.map((b) => b.name).sort());
      await serves(page);
      vm.detach();
      await stopVm(ws.root, 'bench', 'image', { graceSeconds: 10 });
      console.error(`run ${i + 1}: development VM ${devVm.ms[i].toFixed(0)} ms (built ${devVm.built[i].join(', ')}), image ${image.ms[i].toFixed(0)} ms (built ${image.built[i].join(', ')}; build ${image.buildMs[i].toFixed(0)} ms)`);
    }

    const dev = await buildDevVm(common);
    const runScript = join(dev.manifest.storePath, dev.manifest.runScript);
    const bootImage: BootImage = { storePath: dev.manifest.storePath, image: { kind: 'dev-vm', runScript: dev.manifest.runScript } };
    const byHandDir = join(ws.root, 'by-hand');
    for (let i = 0; i < RUNS + 2; i++) {
      overhead.byHand.push(await runByHand(runScript, byHandDir));
      const start = now();
      const vm = await launchVm({ ...common, image: bootImage, accel: 'tcg', instance: 'overhead' });
      overhead.launcher.push(now() - start);
      vm.detach();
      await stopVm(ws.root, 'bench', 'overhead', { graceSeconds: 10 });
      console.error(`overhead run ${i + 1}: by hand ${overhead.byHand[i].toFixed(0)} ms, launcher ${overhead.launcher[i].toFixed(0)} ms`);
    }
  } finally {
    for (const instance of ['dev', 'image', 'overhead']) await stopVm(ws.root, 'bench', instance, { graceSeconds: 0 }).catch(() => undefined);
    ws.cleanup();
  }
  const devMedian = median(devVm.ms);
  const imageMedian = median(image.ms);
  writeResults('dev-vm', {
    accelerator: 'tcg',
    runs: RUNS,
    kernel: fixture.kernelPackage,
    ballastMiB: BALLAST_MIB,
    editToReady: {
      developmentVmMs: devVm.ms.map(Math.round),
      imageMs: image.ms.map(Math.round),
      imageBuildMs: image.buildMs.map(Math.round),
      developmentVmMedianMs: Math.round(devMedian),
      imageMedianMs: Math.round(imageMedian),
      imageBuildMedianMs: Math.round(median(image.buildMs)),
      speedup: Number((imageMedian / devMedian).toFixed(2)),
      targetSpeedup: 3,
      developmentVmBuilt: devVm.built,
      imageBuilt: image.built,
      imageDerivationsBuiltByDevelopmentVm: devVm.built.flat().filter((name) => name === 'bench').length,
    },
    launchOverhead: {
      byHandMs: overhead.byHand.map(Math.round),
      launcherMs: overhead.launcher.map(Math.round),
      byHandMedianMs: Math.round(median(overhead.byHand)),
      launcherMedianMs: Math.round(median(overhead.launcher)),
      overheadMs: Math.round(median(overhead.launcher) - median(overhead.byHand)),
      targetOverheadMs: 1000,
    },
  });
}

/** The baseline: the run script started by hand with its disk and one port forward, polled every 100 ms until it serves the page. */
async function runByHand(runScript: string, dir: string): Promise<number> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const start = now();
  const qemu = spawn(runScript, [], {
    stdio: 'ignore',
    env: { ...process.env, NIX_DISK_IMAGE: join(dir, 'disk.qcow2'), TMPDIR: join(dir, 'tmp'), USE_TMPDIR: '1', QEMU_NET_OPTS: `hostfwd=tcp:127.0.0.1:${PORT}-:${FIXTURE_HTTP_PORT}`, QEMU_OPTS: '-machine accel=tcg' },
  });
  const exited = new Promise((r) => qemu.once('exit', r));
  try {
    const answer = await pollForAnswer({ kind: 'http', port: PORT, path: '/store.html' }, { deadline: Date.now() + 300_000, intervalMs: 100 });
    if (!answer) throw new Error('the run script started by hand never answered');
    return now() - start;
  } finally {
    qemu.kill('SIGKILL');
    await exited;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
