import { existsSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { NIX_INSTALL_HINT } from '../nix/command';
import { nixEvalExpr } from '../nix/eval';
import { probeNix } from '../nix/version';
import { formatBytes } from '../nix/progress-render';
import { toolVersion } from '../qemu/tool-versions';
import { kvmStatus } from './kvm';

export type CheckLevel = 'ok' | 'warning' | 'error';

export interface DoctorCheck {
  name: string;
  level: CheckLevel;
  detail: string;
  fix?: string;
}

const GiB = 1024 ** 3;

/** Everything the targets need from the host, each with a fix hint. `error` means a required part is missing. */
export async function runDoctor(workspaceRoot: string, thresholds = { warnFreeBytes: 20 * GiB, errorFreeBytes: 2 * GiB }): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  try {
    const version = await probeNix();
    checks.push({ name: 'nix', level: 'ok', detail: `Nix ${version.text}` });
    const flakes = await nixEvalExpr<boolean>(workspaceRoot, 'builtins ? getFlake').catch(() => false);
    checks.push(
      flakes
        ? { name: 'flakes', level: 'ok', detail: 'flakes and the nix command are available' }
        : { name: 'flakes', level: 'error', detail: 'builtins.getFlake is missing', fix: `upgrade Nix. ${NIX_INSTALL_HINT}` },
    );
  } catch (e) {
    checks.push({ name: 'nix', level: 'error', detail: (e as Error).message.split('. ')[0], fix: NIX_INSTALL_HINT });
  }
  const kvm = kvmStatus();
  checks.push(
    kvm.usable
      ? { name: 'kvm', level: 'ok', detail: '/dev/kvm is usable' }
      : { name: 'kvm', level: 'warning', detail: `${kvm.reason}: VMs run under TCG (slow) and NixOS VM tests need a builder with KVM`, fix: kvm.fix },
  );
  const fixes = { 'qemu-system-x86_64': 'apt-get install qemu-system-x86 (or your distribution\'s QEMU package)', 'qemu-img': 'apt-get install qemu-utils' } as const;
  for (const program of ['qemu-system-x86_64', 'qemu-img'] as const) {
    const version = await toolVersion(program);
    checks.push(version.found ? { name: program, level: 'ok', detail: version.version } : { name: program, level: 'error', detail: version.error, fix: fixes[program] });
  }
  const artifacts = join(workspaceRoot, 'artifacts');
  const stats = statfsSync(existsSync(artifacts) ? artifacts : workspaceRoot);
  const free = stats.bavail * stats.bsize;
  const level: CheckLevel = free < thresholds.errorFreeBytes ? 'error' : free < thresholds.warnFreeBytes ? 'warning' : 'ok';
  checks.push({
    name: 'disk',
    level,
    detail: `${formatBytes(free)} free under artifacts/`,
    ...(level === 'ok' ? {} : { fix: `free space (overlays and images need ${formatBytes(thresholds.warnFreeBytes)} or more), e.g. nix-collect-garbage -d and delete old artifacts/vms` }),
  });
  return checks;
}

const MARK: Record<CheckLevel, string> = { ok: 'ok  ', warning: 'warn', error: 'FAIL' };

export function formatDoctor(checks: readonly DoctorCheck[]): string {
  return checks.map((c) => `${MARK[c.level]} ${c.name.padEnd(19)} ${c.detail}${c.fix ? `\n     ${''.padEnd(19)} fix: ${c.fix}` : ''}`).join('\n') + '\n';
}
