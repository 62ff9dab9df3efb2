import { closeSync, constants, existsSync, openSync } from 'node:fs';

export type KvmStatus = { usable: true } | { usable: false; reason: string; fix: string };

/** KVM is usable when /dev/kvm opens read-write for this user. */
export function kvmStatus(device = '/dev/kvm'): KvmStatus {
  if (!existsSync(device))
    return {
      usable: false,
      reason: `${device} does not exist`,
      fix: 'enable virtualisation (VT-x/AMD-V) in the firmware or the hypervisor, and load kvm_intel or kvm_amd',
    };
  try {
    closeSync(openSync(device, constants.O_RDWR));
    return { usable: true };
  } catch (e) {
    return {
      usable: false,
      reason: `${device} is not read-write for this user (${(e as NodeJS.ErrnoException).code})`,
      fix: `add the user to the group that owns ${device} (usually "kvm") and log in again`,
    };
  }
}
