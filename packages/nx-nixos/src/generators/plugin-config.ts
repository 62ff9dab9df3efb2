import { readNxJson, type Tree } from '@nx/devkit';
import { resolveOptions, type NixosPluginOptions, type ResolvedPluginOptions } from '../plugin/options';

export const PLUGIN_NAME = '@rave/nx-nixos';

/** The plugin's entry in nx.json, if registered. */
export function pluginEntry(tree: Tree): { plugin: string; options?: NixosPluginOptions } | undefined {
  for (const entry of readNxJson(tree)?.plugins ?? []) {
    if (entry === PLUGIN_NAME) return { plugin: PLUGIN_NAME };
    if (typeof entry === 'object' && entry.plugin === PLUGIN_NAME) return entry as { plugin: string; options?: NixosPluginOptions };
  }
  return undefined;
}

export function pluginOptions(tree: Tree): ResolvedPluginOptions {
  return resolveOptions(pluginEntry(tree)?.options);
}
