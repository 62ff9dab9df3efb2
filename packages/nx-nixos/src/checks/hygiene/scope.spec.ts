import { profilePathspecs, profileScope } from './scope';

describe('profile scope', () => {
  it('gives Git the globs it reads alike, and the base folder of those it would read otherwise', () => {
    expect(profilePathspecs('profiles/dev', ['flake.nix', 'infra/shared/**/*', 'config/*.yaml', 'config/{a,b}.yaml', '{infra,lib}/x.nix', 'a/b[1].nix'])).toEqual([
      ':(glob)profiles/dev/**',
      ':(glob)flake.nix',
      ':(glob)infra/shared/**/*',
      ':(glob)config/*.yaml',
      ':(glob)config/**',
      ':(glob)**',
      ':(glob)a/**',
    ]);
  });

  it('keeps the files under the profile folder, matched by a glob, or under a plain folder path', () => {
    const inScope = profileScope('profiles/dev', ['flake.nix', 'infra/shared', 'config/{a,b}.yaml', 'a/b[1].nix']);
    const files = ['profiles/dev/x', 'profiles/devx/y', 'flake.nix', 'flake.nix.bak', 'infra/shared/m.nix', 'infra/sharedx', 'config/a.yaml', 'config/c.yaml', 'a/b[1].nix', 'a/b1.nix', 'a/b2.nix'];
    expect(files.filter(inScope)).toEqual(['profiles/dev/x', 'flake.nix', 'infra/shared/m.nix', 'config/a.yaml', 'a/b[1].nix', 'a/b1.nix']);
  });
});
