import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildParallelism,
  configuredNixSettings,
  decideParallelism,
  describeParallelism,
  forgetNixSettings,
  nixConfigFiles,
  nixSettingsOnce,
  type SettingSource,
} from './parallelism';

const files = (contents: Record<string, string>) => (path: string) => contents[path];

describe('nixConfigFiles', () => {
  it('lists the system file, then the XDG user files with the first one last (it wins), as Nix 2.8 applies them', () => {
    expect(nixConfigFiles({}, '/home/u')).toEqual(['/etc/nix/nix.conf', '/etc/xdg/nix/nix.conf', '/home/u/.config/nix/nix.conf']);
    expect(nixConfigFiles({ NIX_CONF_DIR: '/opt/nix', XDG_CONFIG_HOME: '/cfg', XDG_CONFIG_DIRS: '/a:/b' }, '/home/u')).toEqual([
      '/opt/nix/nix.conf',
      '/b/nix/nix.conf',
      '/a/nix/nix.conf',
      '/cfg/nix/nix.conf',
    ]);
  });

  it('takes NIX_USER_CONF_FILES instead of the XDG folders', () => {
    expect(nixConfigFiles({ NIX_USER_CONF_FILES: '/first.conf:/second.conf' }, '/home/u')).toEqual(['/etc/nix/nix.conf', '/second.conf', '/first.conf']);
  });
});

describe('configuredNixSettings', () => {
  it('reads settings with their file, follows includes, and lets the user file and NIX_CONFIG override', () => {
    const read = files({
      '/etc/nix/nix.conf': 'sandbox = false\nmax-jobs = 8 # the build farm\ninclude extra.conf\n!include missing.conf\n',
      '/etc/nix/extra.conf': 'cores = 3\n',
      '/home/u/.config/nix/nix.conf': '# comment only\nmax-jobs = 2\n',
    });
    const settings = configuredNixSettings({}, read, '/home/u');
    expect(settings.get('max-jobs')).toEqual({ value: '2', source: '/home/u/.config/nix/nix.conf' });
    expect(settings.get('cores')).toEqual({ value: '3', source: '/etc/nix/extra.conf' });
    expect(configuredNixSettings({ NIX_CONFIG: 'substituters =\nmax-jobs = auto' }, read, '/home/u').get('max-jobs')).toEqual({ value: 'auto', source: 'NIX_CONFIG' });
  });

  it('is empty when no file exists', () => {
    expect(configuredNixSettings({}, files({}), '/home/u').size).toBe(0);
  });
});

describe('decideParallelism', () => {
  const none = new Map<string, SettingSource>();
  const conf = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, v]) => [k, { value: v, source: '/etc/nix/nix.conf' }]));

  it('by default runs one job per CPU and splits the cores between them', () => {
    const p = decideParallelism({ cpus: 8, configured: none });
    expect(p.args).toEqual(['--max-jobs', '8', '--cores', '1']);
    expect(describeParallelism(p)).toBe('max-jobs 8 (nx-nixos default (one job per CPU, 8 CPUs)), cores 1 (nx-nixos default (8 CPUs / 8 job(s)))');
  });

  it('leaves max-jobs to nix.conf when it sets it, and splits the cores by that value', () => {
    expect(decideParallelism({ cpus: 8, configured: conf({ 'max-jobs': '1' }) }).args).toEqual(['--cores', '8']);
    expect(decideParallelism({ cpus: 8, configured: conf({ 'max-jobs': 'auto' }) }).args).toEqual(['--cores', '1']);
    expect(decideParallelism({ cpus: 8, configured: conf({ 'max-jobs': '1', cores: '0' }) }).args).toEqual([]);
  });

  it('prefers nix.conf over the maxJobs option, but maxJobs 0 keeps sending every build to the builders', () => {
    expect(decideParallelism({ cpus: 4, configured: conf({ 'max-jobs': '1' }), maxJobs: 3 }).maxJobs).toEqual({ value: '1', source: '/etc/nix/nix.conf' });
    expect(decideParallelism({ cpus: 4, configured: none, maxJobs: 2 }).args).toEqual(['--max-jobs', '2', '--cores', '2']);
    expect(decideParallelism({ cpus: 4, configured: conf({ 'max-jobs': '4' }), maxJobs: 0 }).args).toEqual(['--max-jobs', '0']);
  });

  it('adds nothing that extraArgs already set', () => {
    expect(decideParallelism({ cpus: 4, configured: none, extraArgs: ['--max-jobs', '3'] }).args).toEqual(['--cores', '1']);
    expect(decideParallelism({ cpus: 4, configured: none, extraArgs: ['-j2', '--option', 'cores', '1'] }).args).toEqual([]);
    expect(decideParallelism({ cpus: 4, configured: none, extraArgs: ['--cores=2'] }).cores).toEqual({ value: '2', source: 'extraArgs' });
  });
});

describe('nixSettingsOnce', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nix-conf-'));
    env = { NIX_CONF_DIR: dir, NIX_USER_CONF_FILES: '' };
    forgetNixSettings();
  });
  afterEach(() => {
    forgetNixSettings();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the configuration files once per process, until forgetNixSettings', () => {
    writeFileSync(join(dir, 'nix.conf'), 'max-jobs = 3\n');
    expect(nixSettingsOnce(env).get('max-jobs')).toEqual({ value: '3', source: join(dir, 'nix.conf') });
    writeFileSync(join(dir, 'nix.conf'), 'max-jobs = 5\n');
    expect(nixSettingsOnce(env).get('max-jobs')?.value).toBe('3');
    expect(buildParallelism({}, env).maxJobs.value).toBe('3');
    forgetNixSettings();
    expect(nixSettingsOnce(env).get('max-jobs')?.value).toBe('5');
  });

  it('reads again for an environment that names other settings', () => {
    writeFileSync(join(dir, 'nix.conf'), 'max-jobs = 3\n');
    expect(nixSettingsOnce(env).get('max-jobs')?.value).toBe('3');
    expect(nixSettingsOnce({ ...env, NIX_CONFIG: 'max-jobs = 7' }).get('max-jobs')).toEqual({ value: '7', source: 'NIX_CONFIG' });
    expect(nixSettingsOnce({ NIX_CONF_DIR: join(dir, 'none'), NIX_USER_CONF_FILES: '' }).size).toBe(0);
  });
});
