/**
 * Launch targets, measured on the real busybox fixture VM under TCG:
 * - time to ready through the launcher (launchVm: ports, state, QMP, HTTP readiness) against the same QEMU
 *   command started by hand with a loop polling the forwarded port every 100 ms (the baseline), alternated.
 *   Both poll the same way (a new HTTP attempt every 100 ms), so the difference is the launcher's own work;
 * - stop time of a guest that honours the ACPI power button, and of one that ignores it (grace 3 s).
 * Run: node -r @swc-node/register tools/bench/launch.ts [runs]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileSchema } from '../../packages/nx-nixos/src/profile/schema';
import { qemuArgv } from '../../packages/nx-nixos/src/qemu/argv';
import type { BootImage } from '../../packages/nx-nixos/src/qemu/boot';
import { QEMU_BINARY } from '../../packages/nx-nixos/src/qemu/daemonize';
import { launchVm } from '../../packages/nx-nixos/src/qemu/launch';
import { pollForAnswer } from '../../packages/nx-nixos/src/qemu/readiness';
import { stopVm } from '../../packages/nx-nixos/src/qemu/stop';
import { ensureVmFixture, FIXTURE_CMDLINE_IGNORING_POWERDOWN, FIXTURE_HTTP_PORT } from '../fixtures/vm-fixture';
import { median, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 5);
const PORT = 31080;
const GRACE_SECONDS = 3;
const now = () => Number(process.hrtime.bigint()) / 1e6;

const profile = profileSchema.parse({
  name: 'bench',
  description: 'Busybox guest serving HTTP',
  flake: { attribute: 'bench' },
  image: { kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.cpio' },
  resources: { memoryMiB: 256, cpus: 1, diskGiB: 1 },
  ports: [{ name: 'http', guest: FIXTURE_HTTP_PORT, host: PORT }],
  services: [{ name: 'Web', port: 'http', scheme: 'http', path: '/' }],
  readiness: { port: 'http', probe: 'http', path: '/', timeoutSeconds: 120 },
});

/** The baseline: QEMU started directly, then poll the forwarded port until HTTP answers. */
async function rawBoot(image: BootImage, dir: string): Promise<number> {
  if (image.image.kind !== 'kernel') throw new Error('kernel image expected');
  const argv = qemuArgv({
    name: 'bench-raw',
    accel: 'tcg',
    memoryMiB: profile.resources.memoryMiB,
    cpus: profile.resources.cpus,
    boot: { kind: 'kernel', kernel: join(image.storePath, image.image.kernel), initrd: join(image.storePath, image.image.initrd), cmdline: image.image.cmdline },
    ports: [{ host: PORT, guest: FIXTURE_HTTP_PORT }],
    qmpSocket: join(dir, 'raw.qmp'),
    serialLog: join(dir, 'raw-serial.log'),
  });
  const start = now();
  const qemu = spawn(QEMU_BINARY, argv, { stdio: 'ignore' });
  const exited = new Promise((r) => qemu.once('exit', r));
  try {
    const answer = await pollForAnswer({ kind: 'http', port: PORT, path: '/' }, { deadline: Date.now() + 120_000, intervalMs: 100 });
    if (!answer) throw new Error('the raw VM never answered');
    return now() - start;
  } finally {
    qemu.kill('SIGKILL');
    await exited;
  }
}

async function main() {
  const fixture = ensureVmFixture((line) => console.error(line));
  const image: BootImage = { storePath: fixture.dir, image: { kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.cpio', cmdline: fixture.cmdline } };
  const ws = mkdtempSync(join(tmpdir(), 'nx-nixos-bench-'));
  const raw: number[] = [];
  const launcher: number[] = [];
  const stopHonoured: number[] = [];
  const stopIgnored: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      raw.push(await rawBoot(image, ws));
      const start = now();
      await launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg', instance: 'bench' });
      launcher.push(now() - start);
      const stop = await stopVm(ws, 'bench', 'bench', { graceSeconds: 30 });
      if (stop.how !== 'powerdown') throw new Error(`expected a powerdown, got ${stop.how}`);
      stopHonoured.push(stop.ms);
      console.error(`run ${i + 1}: raw ${raw[i].toFixed(0)} ms, launcher ${launcher[i].toFixed(0)} ms, stop ${stop.ms} ms`);
    }
    for (let i = 0; i < RUNS; i++) {
      await launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg', instance: 'ignoring', cmdline: FIXTURE_CMDLINE_IGNORING_POWERDOWN });
      const stop = await stopVm(ws, 'bench', 'ignoring', { graceSeconds: GRACE_SECONDS });
      if (stop.how !== 'quit') throw new Error(`expected quit after the grace, got ${stop.how}`);
      stopIgnored.push(stop.ms);
      console.error(`ignoring guest ${i + 1}: stopped in ${stop.ms} ms (grace ${GRACE_SECONDS} s)`);
    }
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
  const rawMedian = median(raw);
  const launcherMedian = median(launcher);
  const ignoredMedian = median(stopIgnored);
  writeResults('launch', {
    accelerator: 'tcg',
    runs: RUNS,
    kernel: fixture.kernelPackage,
    timeToReady: {
      baselineMs: raw.map(Math.round),
      launcherMs: launcher.map(Math.round),
      baselineMedianMs: Math.round(rawMedian),
      launcherMedianMs: Math.round(launcherMedian),
      overheadMs: Math.round(launcherMedian - rawMedian),
      ratio: Number((launcherMedian / rawMedian).toFixed(3)),
      targetOverheadMs: 1000,
    },
    stopHonouringPowerdown: { ms: stopHonoured, medianMs: median(stopHonoured), targetMs: 5000 },
    stopIgnoringPowerdown: {
      graceSeconds: GRACE_SECONDS,
      ms: stopIgnored,
      medianMs: ignoredMedian,
      afterGraceMedianMs: ignoredMedian - GRACE_SECONDS * 1000,
    },
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
