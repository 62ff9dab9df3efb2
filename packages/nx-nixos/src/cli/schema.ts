import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../fs/atomic';
import { profileJsonSchema } from '../profile/schema';
import type { CliCommand } from './main';

export { PROFILE_SCHEMA_PATH } from '../layout';

export function profileSchemaText(): string {
  return JSON.stringify(profileJsonSchema(), null, 2) + '\n';
}

export const command: CliCommand = {
  summary: 'Print (or write with --output) the JSON Schema of profile.json.',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { output: { type: 'string', short: 'o' }, help: { type: 'boolean' } } });
    if (values.help) {
      console.log('Usage: nx-nixos schema [--output FILE]\n\nPrints the JSON Schema of profile.json, or writes it atomically to FILE.');
      return 0;
    }
    if (values.output) writeFileAtomic(values.output, profileSchemaText());
    else process.stdout.write(profileSchemaText());
    return 0;
  },
};
