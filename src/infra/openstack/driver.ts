// The openstack driver: Nova's services, hypervisors, servers and migrations behind the common
// driver interface. Moves are requested, then observed through the server and Nova's own
// migration records, so a restarted engine finds a move again instead of asking for another.
import type { Dispatcher } from 'undici';
import type { Clock } from '../../domain/clock.js';
import type { HostScope, InfraDriver, InfraHost, InfraInstance, MoveRef, Observation } from '../driver.js';
import { resolveCredentials, type Credentials } from './credentials.js';
import { JsonHttp } from './http.js';
import { KeystoneSession } from './keystone.js';
import { NovaClient } from './nova.js';

interface Service {
  id: string;
  binary: string;
  host: string;
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
}

interface Hypervisor {
  hypervisor_hostname: string;
  vcpus: number;
  vcpus_used: number;
  /** Reported up to microversion 2.87 (the driver's maximum). */
  memory_mb?: number | null;
  memory_mb_used?: number | null;
  service?: { host: string };
}

interface Server {
  id: string;
  name: string;
  tenant_id: string;
  status: string;
  'OS-EXT-SRV-ATTR:host': string | null;
  'OS-EXT-STS:task_state'?: string | null;
  /** Embedded in the server since microversion 2.47 (below the driver's minimum). */
  flavor?: { vcpus?: number; ram?: number };
  addresses?: Record<string, Array<{ 'OS-EXT-IPS:type'?: string }>>;
  fault?: { message?: string; details?: string };
}

interface Migration {
  id: number;
  instance_uuid: string;
  source_compute: string;
  dest_compute: string | null;
  status: string;
  migration_type: string;
  created_at: string;
}

/** How often to look at a move in progress (a cold migration takes seconds on a quiet cloud). */
const MOVE_POLL_MS = 1000;

const FAILED_MIGRATION = ['error', 'failed', 'cancelled', 'reverted'];

/** Servers asked for per page. Nova may answer fewer (its [api] max_limit) and then links the next page. */
const PAGE_SIZE = 500;

/** Hosts whose servers are listed at the same time when a scope names several. */
const HOST_LISTINGS_AT_ONCE = 4;

export interface OpenStackOptions {
  /** A clouds.yaml cloud name, or null for the OS_* variables. */
  cloud: string | null;
  env?: NodeJS.ProcessEnv;
  dispatcher?: Dispatcher;
  clock: Clock;
}

export class OpenStackDriver implements InfraDriver {
  readonly kind = 'openstack';
  readonly identity: string;
  private readonly nova: NovaClient;
  private readonly clock: Clock;

  constructor(options: OpenStackOptions) {
    const credentials = resolveCredentials(options.cloud, options.env);
    const http = new JsonHttp({ dispatcher: options.dispatcher });
    const session = new KeystoneSession(credentials, http, options.clock);
    this.nova = new NovaClient(session);
    this.clock = options.clock;
    this.identity = cloudIdentity(credentials);
  }

  microversion(): Promise<string> {
    return this.nova.version();
  }

  private async services(binary: string): Promise<Service[]> {
    return (await this.nova.call<{ services: Service[] }>('GET', `/os-services?binary=${binary}`)).services;
  }

  async listHosts(scope?: HostScope): Promise<InfraHost[]> {
    const wanted = scope?.hosts ? new Set(scope.hosts) : null;
    if (wanted?.size === 0) return [];
    // Three listings whatever the scope (Nova filters services by host one at a time only):
    // the answers are narrowed here.
    const [computes, conductors, hypervisors] = await Promise.all([
      this.services('nova-compute'),
      this.services('nova-conductor'),
      this.nova.call<{ hypervisors: Hypervisor[] }>('GET', '/os-hypervisors/detail'),
    ]);
    const usage = new Map(hypervisors.hypervisors.map((h) => [h.service?.host ?? h.hypervisor_hostname, h]));
    const hosts: InfraHost[] = computes.map((s) => {
      const hypervisor = usage.get(s.host);
      return {
        name: s.host,
        type: 'compute',
        vcpus: hypervisor?.vcpus ?? 0,
        vcpusUsed: hypervisor?.vcpus_used ?? 0,
        memoryMb: figure(hypervisor?.memory_mb),
        memoryMbUsed: figure(hypervisor?.memory_mb_used),
        enabled: s.status === 'enabled',
        disabledReason: s.disabled_reason,
      };
    });
    // A controller is a nova-conductor host that is not also a compute (Fenix's discovery).
    for (const host of new Set(conductors.map((s) => s.host))) {
      if (!hosts.some((h) => h.name === host)) {
        hosts.push({ name: host, type: 'controller', vcpus: 0, vcpusUsed: 0, memoryMb: null, memoryMbUsed: null, enabled: true, disabledReason: null });
      }
    }
    return wanted ? hosts.filter((h) => wanted.has(h.name)) : hosts;
  }

  /**
   * Without a scope, every server of the cloud; with one, Nova is asked host by host (an admin
   * filter), so a step about two hosts reads their servers only. A server seen twice (it moved
   * between two host listings) is kept once, as first seen.
   */
  async listInstances(scope?: HostScope): Promise<InfraInstance[]> {
    let servers: Server[];
    if (scope?.hosts) {
      const hosts = [...new Set(scope.hosts)];
      const perHost = await mapLimited(hosts, HOST_LISTINGS_AT_ONCE, async (host) =>
        // Nova matches host exactly; the check here keeps a listing right even if a proxy dropped the filter.
        (await this.servers(`&host=${encodeURIComponent(host)}`)).filter((s) => s['OS-EXT-SRV-ATTR:host'] === host),
      );
      servers = perHost.flat();
    } else {
      servers = await this.servers('');
    }
    const byId = new Map<string, Server>();
    for (const s of servers) if (s['OS-EXT-SRV-ATTR:host'] && !byId.has(s.id)) byId.set(s.id, s);
    return [...byId.values()].map(toInstance);
  }

  /** Every page of GET /servers/detail of all projects, with the extra filter given (`&k=v`). */
  private async servers(filter: string): Promise<Server[]> {
    const servers: Server[] = [];
    for (let marker: string | null = null; ; ) {
      const page: { servers: Server[]; servers_links?: Array<{ rel?: string }> } = await this.nova.call(
        'GET',
        `/servers/detail?all_tenants=1${filter}&limit=${PAGE_SIZE}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
      );
      servers.push(...page.servers);
      const more = page.servers.length >= PAGE_SIZE || (page.servers_links ?? []).some((l) => l.rel === 'next');
      if (!more || page.servers.length === 0) break;
      marker = page.servers.at(-1)!.id;
    }
    return servers;
  }

  private async serviceId(host: string): Promise<string> {
    const service = (await this.services('nova-compute')).find((s) => s.host === host);
    if (!service) throw new Error(`no nova-compute service on host ${host}`);
    return service.id;
  }

  async disableHost(name: string, reason: string): Promise<void> {
    await this.nova.call('PUT', `/os-services/${await this.serviceId(name)}`, { status: 'disabled', disabled_reason: reason });
  }

  async enableHost(name: string): Promise<void> {
    await this.nova.call('PUT', `/os-services/${await this.serviceId(name)}`, { status: 'enabled' });
  }

  /**
   * Asks Nova for the move, to the host the engine planned when it did (Nova's scheduler still
   * checks that host; a cold migration to a named host needs 2.56, the driver's minimum).
   */
  async requestMove(move: MoveRef): Promise<void> {
    const action =
      move.kind === 'LIVE_MIGRATE'
        ? { 'os-migrateLive': { host: move.to, block_migration: 'auto' } }
        : { migrate: move.to === null ? null : { host: move.to } };
    await this.nova.call('POST', `/servers/${move.instanceId}/action`, action);
  }

  /** Nova's record of this move: the newest migration of the server since the engine recorded it. */
  private async migrationOf(move: MoveRef): Promise<Migration | null> {
    const since = new Date(move.startedAt - 1000).toISOString().slice(0, 19);
    const { migrations } = await this.nova.call<{ migrations: Migration[] }>(
      'GET',
      `/os-migrations?instance_uuid=${move.instanceId}&changes-since=${since}`,
    );
    const own = migrations
      .filter((m) => m.source_compute === move.from && Date.parse(`${m.created_at}Z`) >= move.startedAt - 1000)
      .sort((a, b) => b.id - a.id);
    return own[0] ?? null;
  }

  async observeMove(move: MoveRef): Promise<Observation> {
    const server = (await this.nova.call<{ server: Server }>('GET', `/servers/${move.instanceId}`)).server;
    const migration = await this.migrationOf(move);
    const host = server['OS-EXT-SRV-ATTR:host'];
    const again = { phase: 'running' as const, checkAt: this.clock.now() + MOVE_POLL_MS };
    if (server.status === 'ERROR') {
      return { phase: 'failed', cause: `instance ${server.name} (${server.id}) is in ERROR: ${server.fault?.message ?? 'Nova gave no fault message'}` };
    }
    if (!migration) return server['OS-EXT-STS:task_state'] ? again : { phase: 'unknown' };
    if (server.status === 'VERIFY_RESIZE') {
      // A cold migration waits for confirmation: give it, then watch it settle.
      await this.nova.call('POST', `/servers/${move.instanceId}/action`, { confirmResize: null });
      return again;
    }
    if (FAILED_MIGRATION.includes(migration.status)) {
      return { phase: 'failed', cause: `Nova reports the ${migration.migration_type} of ${server.name} (${server.id}) ${migration.status}; it is on ${host ?? 'no host'}` };
    }
    if (server.status === 'ACTIVE' && !server['OS-EXT-STS:task_state'] && host && host !== move.from) {
      return { phase: 'done', result: { host, migration_id: migration.id } };
    }
    return again;
  }

  /** Nova has no host-level step of its own: the work is done by plug-ins. */
  async requestHostMaintenance(): Promise<void> {}

  async observeHostMaintenance(): Promise<Observation> {
    return { phase: 'done', result: {} };
  }
}

function toInstance(s: Server): InfraInstance {
  const floating = Object.values(s.addresses ?? {}).some((ports) => ports.some((p) => p['OS-EXT-IPS:type'] === 'floating'));
  return {
    id: s.id,
    name: s.name,
    projectId: s.tenant_id,
    host: s['OS-EXT-SRV-ATTR:host']!,
    status: s.status,
    vcpus: s.flavor?.vcpus ?? 0,
    memoryMb: figure(s.flavor?.ram),
    floatingIp: floating,
    ...(s.status === 'ERROR' ? { fault: s.fault?.message ?? 'Nova gave no fault message' } : {}),
  };
}

/** A figure Nova reported, or null when it left it out. */
function figure(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The cloud these credentials reach: its Keystone (without the /v3 the session adds anyway, any
 * user:password in the URL, query or fragment) and the region. Who logs in, with which secret and
 * in which project, is left out: every admin of the cloud sees the same hosts.
 */
export function cloudIdentity(credentials: Credentials): string {
  let keystone: string;
  try {
    const url = new URL(credentials.authUrl);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    keystone = url.toString();
  } catch {
    // Not a URL the driver could log in with either; the userinfo part at least is dropped.
    keystone = credentials.authUrl.replace(/\/\/[^/@]*@/, '//');
  }
  keystone = keystone.replace(/\/+$/, '').replace(/\/v3$/, '');
  return `openstack:${keystone}${credentials.region ? `|region=${credentials.region}` : ''}`;
}

/** Runs `work` on every item, at most `limit` at a time; results in the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
