import { main } from './main';

describe('nx-nixos --help', () => {
  afterEach(() => jest.restoreAllMocks());

  it('lists every command with its summary', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await main(['--help'])).toBe(0);
    const text = log.mock.calls.map((call) => String(call[0])).join('\n');
    expect(text).toContain('  docs-check  Check the docs: links, anchors, Divio structure, stubs, and nx commands against the project graph.');
    expect(text).toContain('  schema      Print (or write with --output) the JSON Schema of profile.json.');
    expect(text.match(/^ {2}\S+ +\S.*$/gm)).toHaveLength(5);
    // Regenerating this repository's reference docs is a maintainer script (npm run reference), not a user command.
    expect(text).not.toMatch(/^ {2}reference\b/m);
  });

  it('shows the list after an unknown command, and exits 2', async () => {
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await main(['hygeine'])).toBe(2);
    expect(String(error.mock.calls[0][0])).toMatch(/^nx-nixos: unknown command "hygeine"\.\n\nUsage: nx-nixos <command> \[options\]\n\nCommands:\n {2}docs-check {2}Check the docs/);
  });
});
