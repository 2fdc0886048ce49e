// The plug-ins of a state directory: executables put in its plugins/ are found by every session
// (after the session's own --plugin-dir ones); each session works in its work/SESSION_ID/.
import { join } from 'node:path';
import { PLUGIN_DIR_NAME, PluginRegistry } from '../engine/plugins.js';

export const statePlugins = (stateDir: string) => new PluginRegistry({ dirs: [join(stateDir, PLUGIN_DIR_NAME)], workRoot: join(stateDir, 'work') });
