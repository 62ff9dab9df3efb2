import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileSchema } from '../profile/schema';
import { devVmInstallable, devVmManifestSchema, findRunScript } from './dev-vm';

describe('development VM', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'dev-vm-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const profile = (vm?: { attribute?: string }) =>
    profileSchema.parse({
      name: 'development',
      description: 'd',
      flake: { attribute: 'development' },
      image: { kind: 'disk', format: 'qcow2', file: 'nixos.qcow2' },
      resources: { memoryMiB: 1024, cpus: 1, diskGiB: 1 },
      ...(vm ? { vm } : {}),
    });

  it('builds NixOS\'s system.build.vm of the profile unless profile.json names another attribute', () => {
    expect(devVmInstallable(profile())).toBe('nixosConfigurations.development.config.system.build.vm');
    expect(devVmInstallable(profile({ attribute: 'packages.x86_64-linux.dev-vm' }))).toBe('packages.x86_64-linux.dev-vm');
    expect(() => profile({ attribute: 'a b' })).toThrow('must be a flake attribute path');
  });

  it('finds the one bin/run-<name>-vm of the build output', () => {
    mkdirSync(join(out, 'bin'));
    writeFileSync(join(out, 'bin', 'run-rave-development-vm'), '#!/bin/sh\n');
    expect(findRunScript(out)).toEqual({ runScript: 'bin/run-rave-development-vm' });
  });

  it('says what is wrong with an output that is not a development VM', () => {
    expect(findRunScript(out).problem).toBe(`${out} has no bin/ folder`);
    mkdirSync(join(out, 'bin'));
    expect(findRunScript(out).problem).toBe(`${out}/bin holds no run-<name>-vm script`);
    writeFileSync(join(out, 'bin', 'run-a-vm'), '');
    writeFileSync(join(out, 'bin', 'run-b-vm'), '');
    expect(findRunScript(out).problem).toBe(`${out}/bin holds several run scripts (run-a-vm, run-b-vm)`);
  });

  it('refuses a run script that leads out of the store', () => {
    mkdirSync(join(out, 'bin'));
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    try {
      writeFileSync(join(outside, 'script'), '');
      symlinkSync(join(outside, 'script'), join(out, 'bin', 'run-x-vm'));
      expect(findRunScript(out).problem).toContain('outside the Nix store');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('keeps the manifest portable: store paths and a relative run script only', () => {
    const valid = { manifestVersion: 1, profile: 'development', installable: 'x', storePath: `/nix/store/${'a'.repeat(32)}-nixos-vm`, drvPath: `/nix/store/${'b'.repeat(32)}-nixos-vm.drv`, runScript: 'bin/run-d-vm', nixVersion: '2.8.0' };
    expect(devVmManifestSchema.safeParse(valid).success).toBe(true);
    expect(devVmManifestSchema.safeParse({ ...valid, runScript: '/ws/run' }).success).toBe(false);
    expect(devVmManifestSchema.safeParse({ ...valid, storePath: '/ws/artifacts/result' }).success).toBe(false);
  });
});
