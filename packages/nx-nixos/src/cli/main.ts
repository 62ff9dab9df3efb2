/** `nx-nixos <command>`: the plugin's checks and tools, usable outside Nx (pre-commit hooks, debugging). */
export interface CliCommand {
  /** One line for the command list of `nx-nixos --help`. */
  summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<CliCommand>> = {
  'docs-check': async () => (await import('./docs-check')).command,
  help: async () => (await import('./help')).command,
  hygiene: async () => (await import('./hygiene')).command,
  imports: async () => (await import('./imports')).command,
  schema: async () => (await import('./schema')).command,
};

/** Loads every command for its summary: only `--help` and a mistyped command pay for that. */
async function usage(): Promise<string> {
  const names = Object.keys(COMMANDS).sort();
  const width = Math.max(...names.map((name) => name.length));
  const lines = await Promise.all(names.map(async (name) => `  ${name.padEnd(width)}  ${(await COMMANDS[name]()).summary}`));
  return ['Usage: nx-nixos <command> [options]', '', 'Commands:', ...lines, '', 'Run `nx-nixos <command> --help` for its options.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`nx-nixos: unknown command "${name}".\n\n${await usage()}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (e) {
    console.error(`nx-nixos ${name}: ${(e as Error).message}`);
    return 2;
  }
}
