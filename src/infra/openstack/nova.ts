// The compute API: microversion negotiated once (2.56 to 2.87: enough for services by id,
// migrations with filters, flavors in servers, and hypervisor vCPU figures).
import type { Dispatcher } from 'undici';
import type { KeystoneSession } from './keystone.js';

export const MIN_MICROVERSION = '2.56';
/** Above this os-hypervisors no longer reports vcpus / vcpus_used. */
export const MAX_MICROVERSION = '2.87';

const parse = (v: string) => v.split('.').map(Number) as [number, number];
export const compareVersions = (a: string, b: string) => {
  const [a1, a2] = parse(a);
  const [b1, b2] = parse(b);
  return a1 - b1 || a2 - b2;
};

export class NovaClient {
  private base: string | null = null;
  private microversion: string | null = null;
  private negotiating: Promise<string> | null = null;

  constructor(private readonly session: KeystoneSession) {}

  /** The microversion in use (negotiated on first use). */
  async version(): Promise<string> {
    await this.ready();
    return this.microversion!;
  }

  private async ready(): Promise<string> {
    if (this.base && this.microversion) return this.base;
    // Calls made while the version is being found wait for that one answer.
    this.negotiating ??= this.negotiate().finally(() => (this.negotiating = null));
    return this.negotiating;
  }

  private async negotiate(): Promise<string> {
    const endpoint = await this.session.endpoint('compute');
    // The catalog URL may end in a project id; the version document lives at .../v2.1.
    const root = /^(.*\/v2(\.1)?)(\/|$)/.exec(endpoint)?.[1] ?? endpoint;
    const doc = await this.session.call<{ version?: { version?: string; min_version?: string } }>('GET', `${root}/`);
    const max = doc.version?.version || '2.0';
    if (compareVersions(max, MIN_MICROVERSION) < 0) {
      throw new Error(`the compute API at ${root} supports microversions up to ${max}; maintctl needs ${MIN_MICROVERSION} or newer (Nova Rocky or later)`);
    }
    this.microversion = compareVersions(max, MAX_MICROVERSION) > 0 ? MAX_MICROVERSION : max;
    this.base = endpoint;
    return endpoint;
  }

  async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    const base = await this.ready();
    const version = this.microversion!;
    return this.session.call<T>(method, `${base}${path}`, { 'openstack-api-version': `compute ${version}`, 'x-openstack-nova-api-version': version }, body);
  }
}
