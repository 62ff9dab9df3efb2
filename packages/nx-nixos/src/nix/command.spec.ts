import { NixMissingError, runNix, stripAnsi } from './command';

describe('runNix', () => {
  it('turns a missing nix into one message that says how to install it', async () => {
    const error = await runNix('nix', ['--version'], { env: { PATH: '/nonexistent' } }).catch((e) => e);
    expect(error).toBeInstanceOf(NixMissingError);
    expect(error.message).toMatch(/^nix was not found on PATH\. Install Nix with the official installer .*`sudo apt-get install nix-bin nix-setup-systemd`/);
    expect(error.message).toContain('`npx nx run repo:doctor` says which version the flake needs');
  });

  it('strips colours from Nix messages', () => {
    expect(stripAnsi("\u001b[31;1merror:\u001b[0m builder for '\u001b[35;1m/nix/store/x.drv\u001b[0m' failed")).toBe("error: builder for '/nix/store/x.drv' failed");
  });
});
