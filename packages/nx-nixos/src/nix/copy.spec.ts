import { pushStoreUri, scrubSecrets, sharingArgs, sharingFromOptions } from './copy';

describe('sharingArgs', () => {
  it('passes caches, keys, builders and features to nix build (maxJobs goes through decideParallelism)', () => {
    expect(
      sharingArgs({
        substituters: ['http://a:1', 's3://b'],
        trustedPublicKeys: ['k-1:AAAA='],
        builders: '@/etc/nix/machines',
        maxJobs: 0,
        systemFeatures: ['kvm', 'nixos-test'],
      }),
    ).toEqual([
      '--option', 'extra-substituters', 'http://a:1 s3://b',
      '--option', 'extra-trusted-public-keys', 'k-1:AAAA=',
      '--option', 'builders', '@/etc/nix/machines',
      '--option', 'system-features', 'kvm nixos-test',
    ]);
    expect(sharingArgs({})).toEqual([]);
  });
});

describe('scrubSecrets', () => {
  it('removes the key, its base64 part and secret-key= values', () => {
    const key = 'team-1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0';
    expect(scrubSecrets(`bad key ${key} / c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0 file:///x?secret-key=/k/s&compression=xz`, [key])).toBe(
      'bad key <redacted> / <redacted> file:///x?secret-key=<redacted>&compression=xz',
    );
  });
});

describe('sharingFromOptions', () => {
  it('pushes only with pushTo, and rejects a signing key without a target', () => {
    expect(sharingFromOptions({ substituters: ['http://a'] }).push).toBeUndefined();
    expect(sharingFromOptions({ pushTo: 'file:///c', signingKeyFile: 'k' }).push).toEqual({ to: 'file:///c', signingKeyFile: 'k' });
    expect(() => sharingFromOptions({ signingKeyFile: 'k' })).toThrow(/signingKeyFile is set but pushTo is not/);
  });
});

describe('pushStoreUri', () => {
  it('signs during the upload and compresses with zstd for binary caches, keeping what the URI already says', () => {
    expect(pushStoreUri('file:///srv/cache', '/k/secret')).toBe('file:///srv/cache?compression=zstd&secret-key=/k/secret');
    expect(pushStoreUri('s3://bucket?region=eu-west-1', '/k/secret')).toBe('s3://bucket?region=eu-west-1&compression=zstd&secret-key=/k/secret');
    expect(pushStoreUri('https://cache.example/up?compression=xz')).toBe('https://cache.example/up?compression=xz');
    expect(pushStoreUri('file:///c?secret-key=/other', '/k/secret')).toBe('file:///c?secret-key=/other&compression=zstd');
  });

  it('leaves other stores and key paths that cannot go into a query alone', () => {
    expect(pushStoreUri('ssh-ng://builder', '/k/secret')).toBe('ssh-ng://builder');
    expect(pushStoreUri('file:///c', '/k/a&b')).toBe('file:///c?compression=zstd');
  });
});
