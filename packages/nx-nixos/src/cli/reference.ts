import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../fs/atomic';
import { docsCheckOptionsSchema } from '../checks/docs/options';
import { hygieneOptionsSchema } from '../checks/hygiene/options';
import { executorSchemaText } from '../reference/executor-schema';
import { REFERENCE_FILES } from '../reference/markdown';
import { profileSchemaText, PROFILE_SCHEMA_PATH } from './schema';
import type { CliCommand } from './main';

/** The package folder, relative to the workspace root. */
const PACKAGE_DIR = 'packages/nx-nixos';

/** Everything generated from the schemas, keyed by workspace-relative path. */
export function generatedFiles(): Record<string, string> {
  // The executors' schema.json generated from zod schemas; the pages below describe these texts, not the files
  // on disk, so one run brings both up to date.
  const schemas: Record<string, string> = {
    'src/executors/hygiene/schema.json': executorSchemaText(hygieneOptionsSchema),
    'src/executors/docs-check/schema.json': executorSchemaText(docsCheckOptionsSchema),
  };
  const files: Record<string, string> = { [PROFILE_SCHEMA_PATH]: profileSchemaText() };
  for (const [path, text] of Object.entries(schemas)) files[`${PACKAGE_DIR}/${path}`] = text;
  for (const [path, render] of Object.entries(REFERENCE_FILES)) files[path] = render(schemas);
  return files;
}

export const command: CliCommand = {
  summary: 'Regenerate the reference docs and the JSON Schemas (or --check that they are current).',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { check: { type: 'boolean' }, root: { type: 'string' }, help: { type: 'boolean' } } });
    if (values.help) {
      console.log('Usage: npm run reference -- [--check] [--root DIR]\n\nWrites the reference docs, the profile JSON Schema and the schema.json of the executors whose options are zod schemas;\nwith --check only reports the files that differ (exit 1).');
      return 0;
    }
    const root = values.root ?? process.cwd();
    const stale: string[] = [];
    for (const [path, text] of Object.entries(generatedFiles())) {
      const file = join(root, path);
      const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      if (current === text) continue;
      if (values.check) stale.push(path);
      else {
        writeFileAtomic(file, text);
        console.log(`wrote ${path}`);
      }
    }
    if (stale.length) {
      console.error(`Out of date: ${stale.join(', ')}. Run \`npm run reference\` and commit the result.`);
      return 1;
    }
    return 0;
  },
};
