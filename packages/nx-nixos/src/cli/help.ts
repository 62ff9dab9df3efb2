import { executorHelp, readExecutors } from '../reference/schemas';
import type { CliCommand } from './main';

export const command: CliCommand = {
  summary: 'Print the options of an executor (build-image, vm-test, launch, ...).',
  async run(argv) {
    const executors = readExecutors();
    const name = argv[0];
    const entry = executors.find((e) => e.name === name);
    if (!entry) {
      const list = executors.map((e) => `  ${e.name.padEnd(12)} ${e.description}`).join('\n');
      if (name && name !== '--help') console.error(`nx-nixos help: no executor named "${name}".\n`);
      console.log(`Usage: nx-nixos help <executor>\n\nExecutors:\n${list}`);
      return name && name !== '--help' ? 2 : 0;
    }
    process.stdout.write(executorHelp(entry));
    return 0;
  },
};
