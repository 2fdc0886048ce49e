// A Keystone v3 session: a token (renewed before it expires, and once on a 401) and the
// service catalog to find endpoints in.
import type { Dispatcher } from 'undici';
import type { Clock } from '../../domain/clock.js';
import type { Credentials } from './credentials.js';
import { HttpError, type JsonHttp } from './http.js';

interface CatalogEntry {
  type: string;
  endpoints: Array<{ interface: string; region?: string; region_id?: string; url: string }>;
}

interface Token {
  value: string;
  expiresAt: number;
  catalog: CatalogEntry[];
}

/** Renew this long before the token expires. */
const RENEW_MARGIN_MS = 60_000;

export class KeystoneSession {
  private token: Token | null = null;
  /** A login under way: calls made meanwhile wait for it rather than log in again. */
  private pending: Promise<Token> | null = null;

  constructor(
    private readonly credentials: Credentials,
    private readonly http: JsonHttp,
    private readonly clock: Clock,
  ) {}

  private authBody(): unknown {
    const c = this.credentials;
    const domain = (d: { id?: string; name?: string }) => (d.id ? { id: d.id } : { name: d.name });
    if (c.method === 'application_credential') {
      const appCred = c.id ? { id: c.id, secret: c.secret } : { name: c.name, secret: c.secret, user: { name: c.username, domain: domain(c.userDomain) } };
      return { auth: { identity: { methods: ['application_credential'], application_credential: appCred } } };
    }
    const user = c.userId ? { id: c.userId, password: c.password } : { name: c.username, domain: domain(c.userDomain), password: c.password };
    const project = c.project.id ? { id: c.project.id } : { name: c.project.name, domain: domain(c.project.domain) };
    return { auth: { identity: { methods: ['password'], password: { user } }, scope: { project } } };
  }

  private async authenticate(): Promise<Token> {
    const response = await this.http.call<{ token: { expires_at: string; catalog?: CatalogEntry[] } }>(
      'POST',
      `${this.credentials.authUrl.replace(/\/v3$/, '')}/v3/auth/tokens`,
      {},
      this.authBody(),
    );
    const value = response.headers['x-subject-token'];
    this.token = {
      value: String(Array.isArray(value) ? value[0] : value),
      expiresAt: Date.parse(response.body.token.expires_at),
      catalog: response.body.token.catalog ?? [],
    };
    return this.token;
  }

  private async current(): Promise<Token> {
    if (this.token && this.token.expiresAt - this.clock.now() >= RENEW_MARGIN_MS) return this.token;
    return this.login();
  }

  private login(): Promise<Token> {
    this.pending ??= this.authenticate().finally(() => (this.pending = null));
    return this.pending;
  }

  /** The URL of a service in the catalog (by type), for the configured interface and region. */
  async endpoint(type: string): Promise<string> {
    const token = await this.current();
    const service = token.catalog.find((s) => s.type === type);
    const { interface: iface, region } = this.credentials;
    const endpoint = service?.endpoints.find((e) => e.interface === iface && (!region || e.region === region || e.region_id === region));
    if (!endpoint) throw new Error(`the service catalog has no ${iface} ${type} endpoint${region ? ` in region ${region}` : ''}`);
    return endpoint.url.replace(/\/+$/, '');
  }

  /** Calls with the token; a 401 (token revoked or expired early) gets one fresh token and one more try. */
  async call<T>(method: Dispatcher.HttpMethod, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const token = attempt === 0 ? await this.current() : await this.login();
      try {
        return (await this.http.call<T>(method, url, { 'x-auth-token': token.value, ...headers }, body)).body;
      } catch (err) {
        if (!(err instanceof HttpError && err.status === 401) || attempt > 0) throw err;
      }
    }
  }
}
