// The openstack driver: Nova's services, hypervisors, servers and migrations behind the common
// driver interface. Moves are requested, then observed through the server and Nova's own
// migration records, so a restarted engine finds a move again instead of asking for another.
import type { Dispatcher } from 'undici';
import type { Clock } from '../../domain/clock.js';
import type { InfraDriver, InfraHost, InfraInstance, MoveRef, Observation } from '../driver.js';
import { resolveCredentials } from './credentials.js';
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
  service?: { host: string };
}

interface Server {
  id: string;
  name: string;
  tenant_id: string;
  status: string;
  'OS-EXT-SRV-ATTR:host': string | null;
  'OS-EXT-STS:task_state'?: string | null;
  flavor?: { vcpus?: number };
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

export interface OpenStackOptions {
  /** A clouds.yaml cloud name, or null for the OS_* variables. */
  cloud: string | null;
  env?: NodeJS.ProcessEnv;
  dispatcher?: Dispatcher;
  clock: Clock;
}

export class OpenStackDriver implements InfraDriver {
  readonly kind = 'openstack';
  private readonly nova: NovaClient;
  private readonly clock: Clock;

  constructor(options: OpenStackOptions) {
    const http = new JsonHttp({ dispatcher: options.dispatcher });
    const session = new KeystoneSession(resolveCredentials(options.cloud, options.env), http, options.clock);
    this.nova = new NovaClient(session);
    this.clock = options.clock;
  }

  microversion(): Promise<string> {
    return this.nova.version();
  }

  private async services(binary: string): Promise<Service[]> {
    return (await this.nova.call<{ services: Service[] }>('GET', `/os-services?binary=${binary}`)).services;
  }

  async listHosts(): Promise<InfraHost[]> {
    const [computes, conductors, hypervisors] = await Promise.all([
      this.services('nova-compute'),
      this.services('nova-conductor'),
      this.nova.call<{ hypervisors: Hypervisor[] }>('GET', '/os-hypervisors/detail'),
    ]);
    const usage = new Map(hypervisors.hypervisors.map((h) => [h.service?.host ?? h.hypervisor_hostname, h]));
    const hosts: InfraHost[] = computes.map((s) => ({
      name: s.host,
      type: 'compute',
      vcpus: usage.get(s.host)?.vcpus ?? 0,
      vcpusUsed: usage.get(s.host)?.vcpus_used ?? 0,
      enabled: s.status === 'enabled',
      disabledReason: s.disabled_reason,
    }));
    // A controller is a nova-conductor host that is not also a compute (Fenix's discovery).
    for (const host of new Set(conductors.map((s) => s.host))) {
      if (!hosts.some((h) => h.name === host)) hosts.push({ name: host, type: 'controller', vcpus: 0, vcpusUsed: 0, enabled: true, disabledReason: null });
    }
    return hosts;
  }

  async listInstances(): Promise<InfraInstance[]> {
    const servers: Server[] = [];
    for (let marker: string | null = null; ; ) {
      const page: { servers: Server[] } = await this.nova.call('GET', `/servers/detail?all_tenants=1&limit=500${marker ? `&marker=${marker}` : ''}`);
      servers.push(...page.servers);
      if (page.servers.length < 500) break;
      marker = page.servers.at(-1)!.id;
    }
    return servers.filter((s) => s['OS-EXT-SRV-ATTR:host']).map(toInstance);
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

  async requestMove(move: MoveRef): Promise<void> {
    const action =
      move.kind === 'LIVE_MIGRATE' ? { 'os-migrateLive': { host: null, block_migration: 'auto' } } : { migrate: null };
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
    floatingIp: floating,
    ...(s.status === 'ERROR' ? { fault: s.fault?.message ?? 'Nova gave no fault message' } : {}),
  };
}
