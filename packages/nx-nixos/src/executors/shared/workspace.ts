import type { ExecutorContext } from '@nx/devkit';
import { useWorkspaceNames } from '../../layout';
import { resolveOptions, type NixosPluginOptions, type ResolvedPluginOptions } from '../../plugin/options';

const PLUGIN_NAME = '@rave/nx-nixos';

/** The plugin options of the workspace an executor runs in, from its nx.json. */
export function pluginOptionsOf(context: Pick<ExecutorContext, 'nxJsonConfiguration'>): ResolvedPluginOptions {
  for (const entry of context.nxJsonConfiguration?.plugins ?? []) {
    if (entry === PLUGIN_NAME) return resolveOptions(undefined);
    if (typeof entry === 'object' && entry.plugin === PLUGIN_NAME) return resolveOptions(entry.options as NixosPluginOptions | undefined);
  }
  return resolveOptions(undefined);
}

/**
 * Makes paths and hints of this process follow the workspace's plugin options (outputDir, target and
 * project names); every executor calls it first.
 */
export function useWorkspaceOf(context: Pick<ExecutorContext, 'nxJsonConfiguration'>): ResolvedPluginOptions {
  const options = pluginOptionsOf(context);
  useWorkspaceNames(options);
  return options;
}
