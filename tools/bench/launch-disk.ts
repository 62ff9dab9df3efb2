/**
 * Launch of a bootable qcow2 disk image (the fixture's syslinux disk) under TCG, with a new overlay each run:
 * time to ready through the launcher (launchVm with fresh: free-space check, qemu-img overlay, ports, state,
 * QMP, HTTP readiness) against the baseline, alternated: `qemu-img create` of the overlay and the same QEMU
 * command started by hand, polling the forwarded port every 100 ms. Also the graceful stop of the disk guest.
 * Run: node -r @swc-node/register tools/bench/launch-disk.ts [runs]
 */
import { spawn, spawnSync } from 'node:child_process';
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
import { ensureDiskFixture, FIXTURE_HTTP_PORT } from '../fixtures/vm-fixture';
import { median, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 5);
const PORT = 31180;
const now = () => Number(process.hrtime.bigint()) / 1e6;

const profile = profileSchema.parse({
  name: 'bench',
  description: 'Busybox guest on a bootable disk, serving HTTP',
  flake: { attribute: 'bench' },
  image: { kind: 'disk', format: 'qcow2', file: 'disk.qcow2' },
  resources: { memoryMiB: 256, cpus: 1, diskGiB: 1 },
  ports: [{ name: 'http', guest: FIXTURE_HTTP_PORT, host: PORT }],
  services: [{ name: 'Web', port: 'http', scheme: 'http', path: '/' }],
  readiness: { port: 'http', probe: 'http', path: '/', timeoutSeconds: 120 },
});

async function rawBoot(base: string, dir: string): Promise<number> {
  const overlay = join(dir, 'raw-overlay.qcow2');
  rmSync(overlay, { force: true });
  const start = now();
  const created = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, overlay]);
  if (created.status !== 0) throw new Error(`qemu-img create failed: ${created.stderr.toString()}`);
  const argv = qemuArgv({
    name: 'bench-raw',
    accel: 'tcg',
    memoryMiB: profile.resources.memoryMiB,
    cpus: profile.resources.cpus,
    boot: { kind: 'disk', overlay },
    ports: [{ host: PORT, guest: FIXTURE_HTTP_PORT }],
    qmpSocket: join(dir, 'raw.qmp'),
    serialLog: join(dir, 'raw-serial.log'),
  });
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
  const fixture = ensureDiskFixture((line) => console.error(line));
  const image: BootImage = { storePath: fixture.dir, image: { kind: 'disk', format: 'qcow2', file: 'disk.qcow2' } };
  const ws = mkdtempSync(join(tmpdir(), 'nx-nixos-bench-disk-'));
  const raw: number[] = [];
  const launcher: number[] = [];
  const stops: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      raw.push(await rawBoot(fixture.disk, ws));
      const start = now();
      await launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg', instance: 'bench', fresh: true });
      launcher.push(now() - start);
      const stop = await stopVm(ws, 'bench', 'bench', { graceSeconds: 30 });
      if (stop.how !== 'powerdown') throw new Error(`expected a powerdown, got ${stop.how}`);
      stops.push(stop.ms);
      console.error(`run ${i + 1}: raw ${raw[i].toFixed(0)} ms, launcher ${launcher[i].toFixed(0)} ms, stop ${stop.ms} ms`);
    }
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
  const rawMedian = median(raw);
  const launcherMedian = median(launcher);
  writeResults('launch-disk', {
    accelerator: 'tcg',
    runs: RUNS,
    kernel: fixture.kernelPackage,
    image: 'qcow2 FAT superfloppy with syslinux, new overlay each run',
    timeToReady: {
      baselineMs: raw.map(Math.round),
      launcherMs: launcher.map(Math.round),
      baselineMedianMs: Math.round(rawMedian),
      launcherMedianMs: Math.round(launcherMedian),
      overheadMs: Math.round(launcherMedian - rawMedian),
      ratio: Number((launcherMedian / rawMedian).toFixed(3)),
      targetOverheadMs: 1000,
    },
    stopHonouringPowerdown: { ms: stops, medianMs: median(stops), targetMs: 5000 },
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
