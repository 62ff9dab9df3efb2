import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { loadProfile } from '../../profile/load';
import type { Profile } from '../../profile/schema';

/** The project root of the target being run. */
export function projectRootOf(context: ExecutorContext): string {
  const project = context.projectName && context.projectsConfigurations?.projects[context.projectName];
  if (!project) throw new Error(`No project in the executor context; run this target through nx (e.g. npx nx run <profile>:build-image).`);
  return project.root;
}

/** The profile of the project an executor runs for, read from <projectRoot>/profile.json. */
export function profileOf(context: ExecutorContext): Profile {
  const file = join(projectRootOf(context), 'profile.json');
  return loadProfile(join(context.root, file), file);
}

/** Runs an executor body, turning any error into one clear message and { success: false }. */
export async function reportErrors(name: string, body: () => Promise<boolean>): Promise<{ success: boolean }> {
  try {
    return { success: await body() };
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}`);
    return { success: false };
  }
}
