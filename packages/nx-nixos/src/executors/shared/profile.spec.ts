import { readFileSync } from 'node:fs';
import { NixTooOldError } from '../../nix/version';
import { describeError, reportErrors } from './profile';

describe('reportErrors', () => {
  const env = process.env.NX_VERBOSE_LOGGING;
  let printed: string[];
  beforeEach(() => {
    printed = [];
    jest.spyOn(console, 'error').mockImplementation((text: string) => void printed.push(text));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    if (env === undefined) delete process.env.NX_VERBOSE_LOGGING;
    else process.env.NX_VERBOSE_LOGGING = env;
  });

  const bug = async (): Promise<boolean> => (undefined as unknown as { x: boolean }).x;

  it('passes the body through', async () => {
    expect(await reportErrors('stop', async () => true)).toEqual({ success: true });
    expect(await reportErrors('stop', async () => false)).toEqual({ success: false });
    expect(printed).toEqual([]);
  });

  it("prints the plugin's own errors as their message, verbose or not", async () => {
    process.env.NX_VERBOSE_LOGGING = 'true';
    const tooOld = new NixTooOldError({ text: '2.3', major: 2, minor: 3, patch: 0 });
    expect(await reportErrors('build-image', () => Promise.reject(tooOld))).toEqual({ success: false });
    expect(await reportErrors('build-image', () => Promise.reject(new Error('profile.json: bad')))).toEqual({ success: false });
    expect(printed).toEqual([`build-image: ${tooOld.message}`, 'build-image: profile.json: bad']);
  });

  it('points at --verbose for the stack of an unexpected error', async () => {
    delete process.env.NX_VERBOSE_LOGGING;
    expect(await reportErrors('launch', bug)).toEqual({ success: false });
    expect(printed).toEqual([expect.stringMatching(/^launch: Cannot read properties of undefined \(reading 'x'\) \(TypeError; run with --verbose for the stack\)$/)]);
  });

  it('prints the stack of an unexpected error with NX_VERBOSE_LOGGING=true (what nx --verbose sets)', async () => {
    process.env.NX_VERBOSE_LOGGING = 'true';
    expect(await reportErrors('launch', bug)).toEqual({ success: false });
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/^launch: TypeError: Cannot read properties of undefined \(reading 'x'\)\n {4}at .*profile\.spec\.ts/);
  });
});

describe('describeError', () => {
  it('treats an unwrapped Node system error as unexpected', () => {
    let error: unknown;
    try {
      readFileSync('/nonexistent/nx-nixos');
    } catch (e) {
      error = e;
    }
    expect(describeError(error, false)).toBe("ENOENT: no such file or directory, open '/nonexistent/nx-nixos' (Error; run with --verbose for the stack)");
    expect(describeError(error, true)).toMatch(/^Error: ENOENT: no such file or directory, open '\/nonexistent\/nx-nixos'\n {4}at /);
  });

  it('prints a thrown value that is not an Error as itself', () => {
    expect(describeError('stopped', true)).toBe('stopped');
    expect(describeError(undefined, false)).toBe('undefined');
  });
});
