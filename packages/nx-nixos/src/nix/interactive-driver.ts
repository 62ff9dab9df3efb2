/**
 * The NixOS test driver run interactively: a check's `driverInteractive` (nixpkgs nixos/lib/testing/interactive.nix
 * sets passthru.driverInteractive; driver.nix links its program as bin/nixos-test-driver, wrapped with
 * `--interactive`, which opens a Python REPL over the test's machines). Built with nix, then run attached to
 * the terminal.
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kvmStatus, type KvmStatus } from '../host/kvm';
import { interactiveDriverDir, inWorkspace } from '../layout';
import { NixBuildError, nixBuild } from './build';
import { sharingArgs, type NixSharingOptions } from './copy';
import { nixEvalJson } from './eval';
import type { ProgressOutput } from './progress-render';
import { assertNixForFlake } from './requirements';

/** Where driver.nix puts the driver's program in its output. */
export const DRIVER_PROGRAM = 'bin/nixos-test-driver';

/** The one test to run interactively: the one asked for, else the subject's only test. */
export function chooseInteractiveTest(tests: readonly string[], wanted: string | undefined, where: string): string {
  if (wanted !== undefined) {
    if (!tests.includes(wanted)) throw new Error(`--test ${wanted}: not a test of ${where}; its tests: ${tests.join(', ') || '(none)'}.`);
    return wanted;
  }
  if (tests.length === 1) return tests[0];
  if (tests.length === 0) throw new Error(`${where} declares no VM test, so there is no test driver to run.`);
  throw new Error(`${where} has ${tests.length} VM tests (${tests.join(', ')}); choose one with --test NAME.`);
}

export type DriverAttribute = 'present' | 'no-check' | 'no-driver';

/** A Nix string literal of `text` (JSON escapes, and `$` so that `${` is no antiquotation). */
const nixString = (text: string) => JSON.stringify(text).replace(/\$/g, '\\$');

/** Whether checks.<system>.<test> exists and has a driverInteractive attribute; evaluates neither derivation. */
export function driverAttribute(cwd: string, flakeRef: string, system: string, test: string, offline = false): Promise<DriverAttribute> {
  const name = nixString(test);
  const apply = `checks: if !(builtins.hasAttr ${name} checks) then "no-check" else if (builtins.getAttr ${name} checks) ? driverInteractive then "present" else "no-driver"`;
  return nixEvalJson<DriverAttribute>(cwd, `${flakeRef}#checks.${system}`, apply, offline);
}

/** The driver's program in a built driverInteractive output; a precise error when it is not there. */
export function driverProgram(outPath: string, attrPath: string): string {
  const program = join(outPath, DRIVER_PROGRAM);
  let isFile = false;
  try {
    isFile = statSync(program).isFile();
  } catch {
    // reported below, with what the output holds instead
  }
  if (!isFile) {
    let found: string;
    try {
      found = readdirSync(join(outPath, 'bin')).join(', ');
    } catch {
      found = '';
    }
    throw new Error(`${attrPath} (${outPath}) has no ${DRIVER_PROGRAM}${found ? `; its bin/ holds: ${found}` : ''}. A NixOS test's driverInteractive (runNixOSTest, nixosTest) has it; check what the attribute builds.`);
  }
  return program;
}

/**
 * What is printed before the driver starts: how to use its REPL, how to type into it when Nx's terminal UI shows
 * the task in a pane (Nx tells a task NX_TUI=false either way, so both cases are told), and a note when VMs will
 * run without KVM.
 */
export function interactiveDriverHints(kvm: KvmStatus): string[] {
  const lines = [
    'The test driver opens a Python prompt with the test\'s machines (named as in `nodes`; a single node is also `machine`):',
    '  start_all()                            boot every machine',
    '  machine.shell_interact()               a root shell on the machine (Ctrl-D returns to the prompt)',
    '  machine.succeed("systemctl status")    run a command, print its output',
    '  test_script()                          run the whole test script',
    'Ctrl-D (or exit()) leaves the driver and stops the machines.',
    "In Nx's terminal UI: press i to type into the driver;",
    '  Ctrl-Z gives the keys back to Nx, q quits once the driver has ended (--tui=false runs it in the plain terminal).',
  ];
  if (!kvm.usable) lines.push(`Without KVM (${kvm.reason}) the machines run under TCG software emulation: booting takes minutes, not seconds. Fix: ${kvm.fix}.`);
  return lines;
}

export interface InteractiveDriverOptions {
  workspaceRoot: string;
  flakeRef?: string;
  system: string;
  test: string;
  /** The project the test belongs to: names the driver's folder (interactiveDriverDir). */
  project: string;
  offline?: boolean;
  extraArgs?: readonly string[];
  sharing?: NixSharingOptions;
  verbose?: boolean;
  progress?: ProgressOutput;
}

export interface InteractiveDriver {
  program: string;
  /** The driver's working folder: its REPL history (.nixos-test-history) and files copied out of machines land here. */
  workDir: string;
  attrPath: string;
}

/** Builds checks.<system>.<test>.driverInteractive and finds its program. */
export async function buildInteractiveDriver(options: InteractiveDriverOptions): Promise<InteractiveDriver> {
  const { workspaceRoot, system, test } = options;
  const flakeRef = options.flakeRef ?? '.';
  await assertNixForFlake(workspaceRoot, flakeRef);
  const check = `checks.${system}.${test}`;
  const attrPath = `${check}.driverInteractive`;
  const dir = inWorkspace(workspaceRoot, interactiveDriverDir(options.project, test));
  const workDir = join(dir, 'work');
  mkdirSync(workDir, { recursive: true });
  let build: Awaited<ReturnType<typeof nixBuild>>;
  try {
    build = await nixBuild({
      cwd: workspaceRoot,
      installable: `${flakeRef}#${attrPath}`,
      outLink: join(dir, 'result'),
      offline: options.offline,
      extraArgs: [...sharingArgs(options.sharing ?? {}), ...(options.extraArgs ?? [])],
      maxJobs: options.sharing?.maxJobs,
      logFile: join(dir, 'build.log'),
      verbose: options.verbose,
      progress: options.progress,
    });
  } catch (e) {
    // Asked only when the build failed, so that a run that works pays for one evaluation, not two.
    if (e instanceof NixBuildError && !e.failedDerivation && !e.diagnosis) {
      const found = await driverAttribute(workspaceRoot, flakeRef, system, test, options.offline).catch(() => 'present' as const);
      if (found === 'no-check') throw new Error(`The flake ${flakeRef} has no ${check}: the test is declared but the flake does not define it.`, { cause: e });
      if (found === 'no-driver')
        throw new Error(
          `${check} has no driverInteractive attribute, so it cannot run interactively. NixOS tests built with pkgs.testers.runNixOSTest or nixosTest have one; a plain derivation does not.`,
          { cause: e },
        );
    }
    throw e;
  }
  const outPath = build.outputs.out ?? Object.values(build.outputs)[0];
  if (!outPath) throw new Error(`nix build ${attrPath} reported no output path.`);
  return { program: driverProgram(outPath, attrPath), workDir, attrPath };
}

/** KVM as the driver's machines will see it (qemu-vm.nix falls back to TCG when /dev/kvm is not usable). */
export const driverKvm = (): KvmStatus => kvmStatus();

/**
 * Runs the driver with the terminal passed through (stdin, stdout, stderr inherited), in `workDir`;
 * resolves with its exit code (128 + signal number when a signal ended it).
 */
export function runInteractiveDriver(driver: Pick<InteractiveDriver, 'program' | 'workDir'>): Promise<number> {
  if (!lstatSync(driver.workDir).isDirectory()) throw new Error(`${driver.workDir} is not a folder.`);
  // Ctrl-C belongs to the REPL (it cancels the line there): this process must not die of it meanwhile.
  const keepAlive = () => undefined;
  process.on('SIGINT', keepAlive);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(driver.program, [], { stdio: 'inherit', cwd: driver.workDir });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
  }).finally(() => process.off('SIGINT', keepAlive));
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
const signalNumber = (signal: NodeJS.Signals) => SIGNALS[signal] ?? 0;
