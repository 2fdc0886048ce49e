// `serve --auth keystone`: a presented X-Auth-Token is validated the way Fenix's keystonemiddleware
// did, with GET /v3/auth/tokens (the server's own service token, the presented one as subject).
// A token with the admin role is admin; any other is its project's. Answers are cached until the
// token expires, so a busy VNFM costs Keystone one call per token.
import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Clock } from '../domain/clock.js';
import { RealClock } from '../engine/clock.js';
import { resolveCredentials } from '../infra/openstack/credentials.js';
import { HttpError as UpstreamError, JsonHttp } from '../infra/openstack/http.js';
import { KeystoneSession } from '../infra/openstack/keystone.js';
import { ADMIN, type Authenticator, type Principal } from './auth.js';
import { HttpError } from './http.js';

interface TokenInfo {
  token: { expires_at: string; roles?: Array<{ name: string }>; project?: { id: string; name?: string } };
}

export interface KeystoneAuthOptions {
  /** The clouds.yaml name of the cloud whose Keystone is asked (null: OS_* variables); its credentials are the server's. */
  cloud: string | null;
  env?: NodeJS.ProcessEnv;
  dispatcher?: Dispatcher;
  clock?: Clock;
}

/** Tokens cached at most this many at once; the oldest go first. */
const CACHE_SIZE = 10_000;

export class KeystoneAuthenticator implements Authenticator {
  private readonly session: KeystoneSession;
  private readonly authUrl: string;
  private readonly clock: Clock;
  private readonly cache = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(options: KeystoneAuthOptions) {
    const credentials = resolveCredentials(options.cloud, options.env);
    this.clock = options.clock ?? new RealClock();
    this.session = new KeystoneSession(credentials, new JsonHttp({ dispatcher: options.dispatcher, retries: 1, timeoutMs: 10_000 }), this.clock);
    this.authUrl = credentials.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '');
  }

  async authenticate(token: string): Promise<Principal | null> {
    const key = createHash('sha256').update(token).digest('hex');
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > now) return cached.principal;
    this.cache.delete(key);
    let info: TokenInfo;
    try {
      info = await this.session.call<TokenInfo>('GET', `${this.authUrl}/v3/auth/tokens`, { 'x-subject-token': token });
    } catch (err) {
      // Keystone says 404 (or 401) for a token it does not know or that expired.
      if (err instanceof UpstreamError && (err.status === 404 || err.status === 401)) return null;
      throw new HttpError(503, `cannot check the token with Keystone: ${(err as Error).message}`);
    }
    const expiresAt = Date.parse(info.token.expires_at);
    if (!(expiresAt > now)) return null;
    const principal = principalOf(info);
    if (!principal) return null;
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { principal, expiresAt });
    return principal;
  }
}

/** Admin role: admin. Else the token's project; an unscoped token without admin is nobody here. */
function principalOf(info: TokenInfo): Principal | null {
  if (info.token.roles?.some((r) => r.name === 'admin')) return ADMIN;
  const project = info.token.project?.id;
  return project ? { role: 'project', project } : null;
}

export function keystoneAuthenticator(cloud: string | null, env: NodeJS.ProcessEnv = process.env): Authenticator {
  return new KeystoneAuthenticator({ cloud, env });
}
