// Action plug-ins the engine can run. Built-ins for now; executables from a plug-in directory
// come later. A plug-in must be safe to run again: a restarted engine re-runs an unfinished one.

export interface PluginCall {
  sessionId: string;
  plugin: string;
  type: string;
  host: string;
  metadata: Record<string, unknown>;
}

export interface PluginResult {
  output: string;
}

export type Plugin = (call: PluginCall) => Promise<PluginResult>;

export const BUILTIN_PLUGINS: Record<string, Plugin> = {
  /** Does nothing and succeeds: for rehearsals and tests (Fenix ships the same). */
  dummy: async (call) => ({ output: `dummy ${call.type} plug-in on ${call.host}: nothing to do` }),
};

export class PluginRegistry {
  constructor(private readonly plugins: Record<string, Plugin> = BUILTIN_PLUGINS) {}

  has(name: string): boolean {
    return Object.hasOwn(this.plugins, name);
  }

  names(): string[] {
    return Object.keys(this.plugins);
  }

  run(call: PluginCall): Promise<PluginResult> {
    const plugin = this.plugins[call.plugin];
    if (!plugin) return Promise.reject(new Error(`no plug-in named ${call.plugin}`));
    return plugin(call);
  }
}
