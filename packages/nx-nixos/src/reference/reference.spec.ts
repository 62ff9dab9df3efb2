import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedFiles } from '../cli/reference';
import { DEFAULT_OPTIONS } from '../plugin/options';
import { executorsReference, pluginOptionsReference, profileReference } from './markdown';
import { readExecutors } from './schemas';

const REPO = join(__dirname, '../../../..');

describe('generated reference', () => {
  it.each(Object.keys(generatedFiles()))('%s is up to date (run `npm run reference` after changing a schema)', (path) => {
    expect(readFileSync(join(REPO, path), 'utf8')).toBe(generatedFiles()[path]);
  });

  it('documents every option of every executor, but not the hidden ones Nx fills in', () => {
    const text = executorsReference();
    for (const executor of readExecutors()) {
      expect(text).toContain(`## ${executor.name}`);
      for (const [option, property] of Object.entries(executor.schema.properties ?? {}))
        if (property.hidden) expect(text).not.toContain(`| \`${option}\` |`);
        else expect(text).toContain(`| \`${option}\` |`);
    }
  });

  it('documents every plugin option in a row of its own, with its default', () => {
    const text = pluginOptionsReference();
    for (const [option, value] of Object.entries(DEFAULT_OPTIONS)) expect(text).toContain(`| \`${option}\` | \`${JSON.stringify(value)}\` |`);
  });

  it('documents nested profile fields with types and defaults', () => {
    const text = profileReference();
    expect(text).toContain('| `resources.memoryMiB` | integer | yes |');
    expect(text).toContain('| `system` | string |  | `"x86_64-linux"` |');
    expect(text).toMatch(/\| `image \("kernel"\)\.cmdline` \| string \|/);
    expect(text).toMatch(/\| `ports\[\]\.host` \| integer \|/);
  });

  it('every executor option has a description', () => {
    for (const executor of readExecutors())
      for (const [option, property] of Object.entries(executor.schema.properties ?? {}))
        expect([executor.name, option, (property.description?.length ?? 0) > 10]).toEqual([executor.name, option, true]);
  });
});
