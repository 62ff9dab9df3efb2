import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { types } from 'node:util';
import { buildImageCommand } from '../../layout';
import { loadProfile } from '../../profile/load';
import type { Profile } from '../../profile/schema';

/** The project root of the target being run. */
export function projectRootOf(context: ExecutorContext): string {
  const project = context.projectName && context.projectsConfigurations?.projects[context.projectName];
  if (!project) throw new Error(`No project in the executor context; run this target through nx (e.g. ${buildImageCommand('<profile>')}).`);
  return project.root;
}

/** The profile of the project an executor runs for, read from <projectRoot>/profile.json. */
export function profileOf(context: ExecutorContext): Profile {
  const file = join(projectRootOf(context), 'profile.json');
  return loadProfile(join(context.root, file), file);
}

/**
 * Runs an executor body, turning any error into one clear message and { success: false }. The plugin's own
 * errors are messages for people; an error JavaScript or Node raised by itself (a TypeError, an unwrapped
 * ENOENT) is a bug, so it keeps its stack under --verbose.
 */
export async function reportErrors(name: string, body: () => Promise<boolean>): Promise<{ success: boolean }> {
  try {
    return { success: await body() };
  } catch (e) {
    console.error(`${name}: ${describeError(e, process.env.NX_VERBOSE_LOGGING === 'true')}`);
    return { success: false };
  }
}

const BUILTIN_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError']);

/** Not one of the plugin's errors: a built-in JavaScript error, or a Node system error passed on unwrapped. */
function isUnexpected(e: Error): boolean {
  return BUILTIN_ERRORS.has(e.name) || typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

export function describeError(e: unknown, verbose: boolean): string {
  // isNativeError also knows errors of another realm (a vm context), where instanceof Error is false.
  if (!(e instanceof Error || types.isNativeError(e))) return String(e);
  if (!isUnexpected(e) || !e.stack) return e.message;
  return verbose ? e.stack : `${e.message} (${e.name}; run with --verbose for the stack)`;
}
