// Which engine client a command gets: remote when an endpoint is given (--endpoint or
// MAINTCTL_ENDPOINT, with --token or MAINTCTL_TOKEN), else embedded over the state directory.
import type { EngineClient } from './client.js';
import { EmbeddedClient } from './embedded.js';
import { RemoteClient } from './remote.js';

export interface ClientSettings {
  stateDir: string;
  env: NodeJS.ProcessEnv;
  endpoint?: string;
  token?: string;
  /** Starts the embedded engine (default: a background process). */
  startEngine?: (stateDir: string) => void;
}

export function endpointOf(settings: Pick<ClientSettings, 'env' | 'endpoint'>): string | undefined {
  return settings.endpoint ?? (settings.env.MAINTCTL_ENDPOINT || undefined);
}

export function makeClient(settings: ClientSettings): EngineClient {
  const endpoint = endpointOf(settings);
  if (endpoint) return new RemoteClient({ endpoint, token: settings.token ?? (settings.env.MAINTCTL_TOKEN || undefined) });
  return new EmbeddedClient({ stateDir: settings.stateDir, env: settings.env, startEngine: settings.startEngine });
}
