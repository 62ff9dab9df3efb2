import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { profileSchemaText, PROFILE_SCHEMA_PATH } from '../cli/schema';
import { fixtureProfile } from '../testing/workspace';
import { parseProfile, ProfileError } from './load';
import { enabledServices } from './schema';

const REPO = join(__dirname, '../../../..');
const repoProfiles = readdirSync(join(REPO, 'profiles'));

function problems(text: string, file = 'profiles/dev/profile.json') {
  try {
    parseProfile(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return (e as ProfileError).problems;
  }
  throw new Error('expected a ProfileError');
}

describe('profile.json', () => {
  it.each(repoProfiles)('the repository profile %s is valid and references the JSON Schema', (name) => {
    const file = `profiles/${name}/profile.json`;
    const text = readFileSync(join(REPO, file), 'utf8');
    expect(parseProfile(text, file).name).toBe(name);
    expect(JSON.parse(text).$schema).toBe('../../packages/nx-nixos/schemas/profile.schema.json');
  });

  it('seeds production, development and demo', () => {
    expect(repoProfiles.sort()).toEqual(['demo', 'development', 'production']);
  });

  it('development has Outline, n8n and Penpot off, 8 GiB RAM, a 30 GB disk and the rave-qcow2-dev alias', () => {
    const dev = parseProfile(readFileSync(join(REPO, 'profiles/development/profile.json'), 'utf8'), 'profiles/development/profile.json');
    expect(dev.features).toMatchObject({ outline: false, n8n: false, penpot: false, gitlab: true, mattermost: true });
    expect(dev.resources).toMatchObject({ memoryMiB: 8192, diskGiB: 30 });
    expect(dev.flake.aliases).toContain('rave-qcow2-dev');
    const names = enabledServices(dev).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['GitLab', 'Mattermost', 'Grafana']));
    expect(names).not.toEqual(expect.arrayContaining(['Outline']));
    expect(names.filter((n) => ['Outline', 'n8n', 'Penpot'].includes(n))).toEqual([]);
  });

  it('production enables every service', () => {
    const prod = parseProfile(readFileSync(join(REPO, 'profiles/production/profile.json'), 'utf8'), 'profiles/production/profile.json');
    expect(Object.values(prod.features).every(Boolean)).toBe(true);
    expect(enabledServices(prod)).toHaveLength(prod.services.length);
  });

  it('the committed JSON Schema matches the zod schema', () => {
    expect(readFileSync(join(REPO, PROFILE_SCHEMA_PATH), 'utf8')).toBe(profileSchemaText());
  });

  it('reports invalid JSON with the file', () => {
    expect(problems('{ "name": ')).toEqual([{ path: '$', reason: expect.stringMatching(/^not valid JSON/) }]);
  });

  it('reports a wrong type with its JSON path', () => {
    const bad = { ...fixtureProfile('dev'), resources: { memoryMiB: '8G', cpus: 2, diskGiB: 10 } };
    expect(problems(JSON.stringify(bad))).toEqual([{ path: '$.resources.memoryMiB', reason: expect.stringMatching(/expected number/) }]);
  });

  it('reports unknown fields, bad names and dangling port references', () => {
    const bad = {
      ...fixtureProfile('dev'),
      colour: 'blue',
      ports: [{ name: 'http', guest: 80, host: 8080 }],
      services: [{ name: 'GitLab', port: 'https', feature: 'gitlab' }],
    };
    expect(problems(JSON.stringify(bad))).toEqual(
      expect.arrayContaining([
        { path: '$', reason: 'unknown field(s) "colour"' },
        { path: '$.services[0].port', reason: 'no port named "https" in ports' },
        { path: '$.services[0].feature', reason: 'feature "gitlab" is not declared in features' },
      ]),
    );
    expect(problems(JSON.stringify({ ...fixtureProfile('Dev_1') }), 'profiles/Dev_1/profile.json')[0].path).toBe('$.name');
  });

  it('requires the name to equal the folder', () => {
    expect(problems(JSON.stringify(fixtureProfile('other')))).toEqual([
      { path: '$.name', reason: 'is "other" but the folder is "dev"; they must be equal' },
    ]);
  });

  it('puts file, path and a next step in the message', () => {
    expect(() => parseProfile('{}', 'profiles/dev/profile.json')).toThrow(/Invalid profile profiles\/dev\/profile.json:\n {2}- \$\.name: .*\n[\s\S]*Fix the file/);
  });
});
