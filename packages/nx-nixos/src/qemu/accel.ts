import { kvmStatus } from '../host/kvm';
import type { Accelerator } from './argv';

/** KVM when /dev/kvm is usable, else TCG with a warning that says how to fix KVM; a forced KVM that cannot work fails. */
export function chooseAccelerator(wanted: Accelerator | 'auto' = 'auto', device?: string): { accel: Accelerator; warning?: string } {
  const kvm = kvmStatus(device);
  if (wanted === 'tcg') return { accel: 'tcg' };
  if (wanted === 'kvm') {
    if (!kvm.usable) throw new Error(`--accel kvm: KVM is not usable: ${kvm.reason}. Fix: ${kvm.fix}; or launch with --accel tcg.`);
    return { accel: 'kvm' };
  }
  if (kvm.usable) return { accel: 'kvm' };
  return { accel: 'tcg', warning: `KVM is not usable (${kvm.reason}): using TCG software emulation, which is much slower. Fix: ${kvm.fix}.` };
}
