/**
 * docs/tutorials/build-your-first-image.md, run as a reader runs it: every command of its ```sh blocks, in
 * order, on a fixture laid out like this repository (tools/fixtures/tutorial-fixture.ts), with real nx and
 * real Nix. Each must succeed, and where a ```text block of sample output follows, the real output must
 * have the shape of the sample: every sample line appears, with store paths, sizes, times and other
 * numbers left open. A command the fixture cannot run must be listed below with the reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripAnsi } from '../src/nix/command';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, REPO_ROOT, type TestWorkspace } from '../src/testing/workspace';
import { TUTORIAL_PLUGIN_OPTIONS, tutorialFixtureFiles } from '../../../tools/fixtures/tutorial-fixture';

jest.setTimeout(600_000);

const TUTORIAL = 'docs/tutorials/build-your-first-image.md';

/** Commands the test does not run, each with why. */
const NOT_RUN: [RegExp, string][] = [
  [/^git clone /, 'the test workspace is created in place of the clone'],
  [/^cd /, 'the test runs in the fixture workspace'],
  [/^npm ci$/, 'the test workspace links this repository\'s node_modules, installed by CI before the tests'],
  [/^nix --version$/, 'doctor reports the version too, and the fixture needs none in particular'],
  [/^(mkdir -p ~\/\.config\/sops\/age|age-keygen |sops |\$EDITOR )/, 'sops and age act on the reader\'s own keys, outside the workspace'],
];

/** Lines of the sample that the fixture does not have, each with why. */
const NOT_IN_FIXTURE: [string, string][] = [['@rave/nx-nixos', 'the plugin\'s own package, not part of the fixture']];

interface Step {
  line: number;
  commands: string[];
  sample?: string[];
}

function tutorialSteps(markdown: string): Step[] {
  const lines = markdown.split('\n');
  const steps: Step[] = [];
  const block = (start: number) => {
    const body: string[] = [];
    let i = start + 1;
    while (i < lines.length && !lines[i].startsWith('```')) body.push(lines[i++]);
    return { body, end: i };
  };
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const { body, end } = block(i);
    const step: Step = { line: i + 1, commands: body.filter((l) => l.trim() !== '' && !l.trim().startsWith('#')) };
    let next = end + 1;
    while (next < lines.length && lines[next].trim() === '') next++;
    if (lines[next] === '```text') {
      const sample = block(next);
      step.sample = sample.body;
      i = sample.end;
    } else i = end;
    steps.push(step);
  }
  return steps;
}

/** A line with what differs between runs and machines left open. */
export function shape(line: string): string {
  return stripAnsi(line)
    .replace(/\/nix\/store\/[0-9a-z]{32}-[^\s",]*/g, '/nix/store/<path>')
    .replace(/\d+(\.\d+)? ?(B|KiB|MiB|GiB|TiB)\b/g, '<size>')
    .replace(/\b(\d+h)?(\d+m)?\d+(\.\d+)?(ms|s)\b/g, '<time>')
    .replace(/\d+/g, '0')
    .replace(/\s+/g, ' ')
    .trim();
}

describeIfTools(['nix', 'git'])(`${TUTORIAL}, run on a fixture with real nx and nix`, () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createTestWorkspace({ files: tutorialFixtureFiles(`tutorial ${process.pid} ${Date.now()}`), pluginOptions: TUTORIAL_PLUGIN_OPTIONS });
  });
  afterAll(() => ws?.cleanup());

  const steps = tutorialSteps(readFileSync(join(REPO_ROOT, TUTORIAL), 'utf8'));

  it('has commands with sample output to check', () => {
    expect(steps.filter((s) => s.sample).length).toBeGreaterThanOrEqual(5);
  });

  it.each(steps.map((s) => [s.line, s]))(`the commands at line %i succeed and print what the sample shows`, (_line, step) => {
    let output = '';
    let ran = 0;
    for (const command of step.commands) {
      if (NOT_RUN.some(([pattern]) => pattern.test(command))) continue;
      ran++;
      const run = command.startsWith('npx nx ') ? ws.nx(command.slice('npx nx '.length).split(/\s+/)) : ws.run('sh', ['-c', command]);
      expect([command, run.code, run.code === 0 ? '' : run.output]).toEqual([command, 0, '']);
      output += run.output;
    }
    // A sample of commands the fixture cannot run (npm ci) is the output of a run on a real machine.
    if (!step.sample || ran === 0) return;
    const actual = new Set(output.split('\n').map(shape));
    const missing = step.sample
      .filter((line) => line.trim() !== '' && line.trim() !== '...')
      .filter((line) => !NOT_IN_FIXTURE.some(([text]) => line.trim() === text))
      .filter((line) => !actual.has(shape(line)));
    expect({ command: step.commands, missing, output: missing.length ? output : '' }).toEqual({ command: step.commands, missing: [], output: '' });
  });

  it('runs or explains every command', () => {
    for (const command of steps.flatMap((s) => s.commands)) {
      const runnable = command.startsWith('npx nx ') || /^(cat|ls) /.test(command);
      expect([command, runnable || NOT_RUN.some(([pattern]) => pattern.test(command))]).toEqual([command, true]);
    }
  });
});
