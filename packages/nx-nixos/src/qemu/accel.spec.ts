import { chooseAccelerator } from './accel';

describe('chooseAccelerator', () => {
  it('falls back to TCG with a warning and a fix when KVM is unusable', () => {
    const choice = chooseAccelerator('auto', '/nonexistent/kvm');
    expect(choice.accel).toBe('tcg');
    expect(choice.warning).toContain('KVM is not usable (/nonexistent/kvm does not exist): using TCG');
  });
  it('honours a forced accelerator, and says why a forced KVM cannot work', () => {
    expect(chooseAccelerator('tcg', '/nonexistent/kvm')).toEqual({ accel: 'tcg' });
    expect(() => chooseAccelerator('kvm', '/nonexistent/kvm')).toThrow('--accel kvm: KVM is not usable: /nonexistent/kvm does not exist');
  });
});
