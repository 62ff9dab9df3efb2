import { atLeast, parseNixVersion } from './version';

describe('parseNixVersion', () => {
  it.each([
    ['nix (Nix) 2.8.0\n', { major: 2, minor: 8, patch: 0, text: '2.8.0' }],
    ['nix (Nix) 2.24.9', { major: 2, minor: 24, patch: 9, text: '2.24.9' }],
    ['nix (Nix) 2.19.0pre20231005_dirty', { major: 2, minor: 19, patch: 0, text: '2.19.0pre20231005_dirty' }],
    ['nix (Determinate Nix 3.6.2) 2.29.0', { major: 2, minor: 29, patch: 0, text: '2.29.0' }],
  ])('reads %j', (output, expected) => {
    expect(parseNixVersion(output)).toEqual(expected);
  });

  it('rejects output without a version', () => {
    expect(() => parseNixVersion('command not found')).toThrow(/Cannot read the Nix version/);
  });
});

describe('atLeast', () => {
  it('compares major and minor', () => {
    expect(atLeast(parseNixVersion('2.7.9'), 2, 8)).toBe(false);
  });
});
