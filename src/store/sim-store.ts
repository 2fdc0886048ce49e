// The simulated cloud's rows (the sim_* tables): loaded whole when a cloud is opened, then kept up
// to date one change at a time by the in-memory SimCloud. The only place that holds the sim's SQL.
import { randomUUID } from 'node:crypto';
import type { CloudFile } from '../domain/schemas.js';
import type { HostType } from '../domain/states.js';
import type { Store } from './store.js';

type Row = Record<string, unknown>;

export interface SimTiming {
  migrate_s: number;
  live_migrate_s: number;
  host_maintenance_s: number;
}

export type SimFault = { migrate_fails: string } | { host_fails: string };

export interface SimHostRecord {
  name: string;
  type: HostType;
  vcpus: number;
  /** null: the host does not say, and memory is not taken into account on it. */
  memoryMb: number | null;
  enabled: boolean;
  disabledReason: string | null;
  maintainedCount: number;
}

export interface SimInstanceRecord {
  id: string;
  name: string;
  projectId: string;
  host: string;
  vcpus: number;
  memoryMb: number | null;
  floatingIp: boolean;
  status: string;
}

export interface SimProjectRecord {
  id: string;
  autoReply: 'ack' | 'nack' | 'none';
  action: 'MIGRATE' | 'LIVE_MIGRATE' | 'OWN_ACTION';
  scaleIn: number;
  replyDelayS: number;
}

export type SimOperationKind = 'MIGRATE' | 'LIVE_MIGRATE' | 'HOST_MAINTENANCE';
export type SimOutcome = 'running' | 'done' | 'failed';

export interface SimOperationRecord {
  key: string;
  kind: SimOperationKind;
  /** The instance id of a move, the host name of a host maintenance. */
  target: string;
  from: string | null;
  to: string | null;
  /** When it finishes, epoch ms of simulated time. */
  dueAt: number;
  outcome: SimOutcome;
  error: string | null;
}

/** Something a scripted VNFM did once for a session, with what it needs to undo it later. */
export interface SimActRecord {
  sessionId: string;
  projectId: string;
  act: string;
  detail: unknown;
}

/** Everything a simulated cloud holds, as read in one transaction. */
export interface SimCloudState {
  id: string;
  name: string;
  timing: SimTiming;
  faults: SimFault[];
  hosts: SimHostRecord[];
  instances: SimInstanceRecord[];
  projects: SimProjectRecord[];
  operations: SimOperationRecord[];
  acts: SimActRecord[];
}

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

const toHost = (r: Row): SimHostRecord => ({
  name: String(r.name),
  type: r.type as HostType,
  vcpus: Number(r.vcpus),
  memoryMb: nullableNumber(r.memory_mb),
  enabled: r.enabled === 1,
  disabledReason: (r.disabled_reason as string | null) ?? null,
  maintainedCount: Number(r.maintained_count),
});

const toInstance = (r: Row): SimInstanceRecord => ({
  id: String(r.id),
  name: String(r.name),
  projectId: String(r.project_id),
  host: String(r.host),
  vcpus: Number(r.vcpus),
  memoryMb: nullableNumber(r.memory_mb),
  floatingIp: r.floating_ip === 1,
  status: String(r.status),
});

const toProject = (r: Row): SimProjectRecord => ({
  id: String(r.id),
  autoReply: r.auto_reply as SimProjectRecord['autoReply'],
  action: r.action as SimProjectRecord['action'],
  scaleIn: Number(r.scale_in),
  replyDelayS: Number(r.reply_delay_s),
});

const toOperation = (r: Row): SimOperationRecord => ({
  key: String(r.key),
  kind: r.kind as SimOperationKind,
  target: String(r.target),
  from: (r.from_host as string | null) ?? null,
  to: (r.to_host as string | null) ?? null,
  dueAt: Number(r.due_at),
  outcome: r.outcome as SimOutcome,
  error: (r.error as string | null) ?? null,
});

const toAct = (r: Row): SimActRecord => ({
  sessionId: String(r.session_id),
  projectId: String(r.project_id),
  act: String(r.act),
  detail: JSON.parse(String(r.detail)) as unknown,
});

/** The clouds of scratch stores, kept here instead of in their tables (nobody else reads them). */
const scratchClouds = new WeakMap<Store, Map<string, SimCloudState>>();

export class SimStore {
  /**
   * A scratch store (a rehearsal) is read by nobody else: its cloud is never written to its
   * tables (the import is kept in memory until the SimCloud takes it over), and what happens to it
   * is neither written nor logged.
   */
  readonly keepsRows: boolean;

  constructor(private readonly store: Store) {
    this.keepsRows = !store.scratch;
  }

  /** Runs fn in one transaction (nested calls become savepoints). */
  tx<T>(fn: () => T): T {
    return this.store.tx(fn);
  }

  /**
   * Runs a change of the cloud: in one transaction, or for a scratch store, which writes none of
   * the changes (see keepsRows), as it is: a savepoint per move that writes nothing costs a
   * rehearsal about a tenth of its time.
   */
  change<T>(fn: () => T): T {
    return this.keepsRows ? this.store.tx(fn) : fn();
  }

  /** Changes when another connection commits (see Store.dataVersion). */
  dataVersion(): number {
    return this.store.dataVersion();
  }

  private sql(text: string) {
    return this.store.statement(text);
  }

  /** The whole cloud, or null when the store has no cloud with this id. */
  load(cloudId: string): SimCloudState | null {
    if (!this.keepsRows) {
      // Handed over once: the SimCloud made from it is the cloud from then on (SimCloud.open keeps it).
      const state = scratchClouds.get(this.store)?.get(cloudId) ?? null;
      scratchClouds.get(this.store)?.delete(cloudId);
      return state;
    }
    return this.tx(() => {
      const cloud = this.sql('SELECT * FROM sim_clouds WHERE id = ?').get(cloudId) as Row | undefined;
      if (!cloud) return null;
      const all = (table: string, order: string) =>
        this.sql(`SELECT * FROM ${table} WHERE cloud_id = ? ORDER BY ${order}`).all(cloudId) as Row[];
      return {
        id: cloudId,
        name: String(cloud.name),
        timing: JSON.parse(String(cloud.timing)) as SimTiming,
        faults: JSON.parse(String(cloud.faults)) as SimFault[],
        hosts: all('sim_hosts', 'name').map(toHost),
        instances: all('sim_instances', 'name').map(toInstance),
        projects: all('sim_projects', 'id').map(toProject),
        operations: all('sim_operations', 'due_at, key').map(toOperation),
        acts: all('sim_vnfm_acts', 'session_id, project_id, act').map(toAct),
      };
    });
  }

  /** Stores a new cloud built from a parsed cloud file; returns its id. */
  importCloud(cloud: CloudFile, name: string, now: number): string {
    const cloudId = randomUUID();
    if (!this.keepsRows) {
      let clouds = scratchClouds.get(this.store);
      if (!clouds) scratchClouds.set(this.store, (clouds = new Map()));
      clouds.set(cloudId, stateOf(cloudId, cloud, name));
      return cloudId;
    }
    this.tx(() => {
      this.sql('INSERT INTO sim_clouds (id, name, timing, faults, created_at) VALUES (?, ?, ?, ?, ?)').run(
        cloudId, name, JSON.stringify(cloud.timing), JSON.stringify(cloud.faults), now,
      );
      const host = this.sql('INSERT INTO sim_hosts (cloud_id, name, type, vcpus, memory_mb) VALUES (?, ?, ?, ?, ?)');
      for (const h of cloud.hosts) host.run(cloudId, h.name, h.type, h.vcpus, h.memory_mb ?? null);
      for (const i of cloud.instances) {
        this.writeInstance(cloudId, {
          id: i.id ?? randomUUID(),
          name: i.name,
          projectId: i.project,
          host: i.host,
          vcpus: i.vcpus,
          memoryMb: i.memory_mb ?? null,
          floatingIp: i.floating_ip,
          status: 'ACTIVE',
        });
      }
      // A project that only appears on instances has no scripted VNFM: nobody answers for it
      // unless it subscribes (project agent, project reply, a webhook).
      const project = this.sql('INSERT INTO sim_projects (cloud_id, id, auto_reply, action, scale_in, reply_delay_s) VALUES (?, ?, ?, ?, ?, ?)');
      for (const p of cloud.projects) project.run(cloudId, p.id, p.auto_reply, p.action, p.scale_in, p.reply_delay_s);
    });
    return cloudId;
  }

  /** Removes a cloud and everything in it (the other sim tables cascade). */
  removeCloud(cloudId: string): void {
    scratchClouds.get(this.store)?.delete(cloudId);
    this.tx(() => this.sql('DELETE FROM sim_clouds WHERE id = ?').run(cloudId));
  }

  setFaults(cloudId: string, faults: readonly SimFault[]): void {
    if (!this.keepsRows) return;
    this.sql('UPDATE sim_clouds SET faults = ? WHERE id = ?').run(JSON.stringify(faults), cloudId);
  }

  setTiming(cloudId: string, timing: SimTiming): void {
    if (!this.keepsRows) return;
    this.sql('UPDATE sim_clouds SET timing = ? WHERE id = ?').run(JSON.stringify(timing), cloudId);
  }

  setEnabled(cloudId: string, host: string, enabled: boolean, reason: string | null): void {
    if (!this.keepsRows) return;
    this.sql('UPDATE sim_hosts SET enabled = ?, disabled_reason = ? WHERE cloud_id = ? AND name = ?').run(
      enabled ? 1 : 0, reason, cloudId, host,
    );
  }

  bumpMaintained(cloudId: string, host: string): void {
    if (!this.keepsRows) return;
    this.sql('UPDATE sim_hosts SET maintained_count = maintained_count + 1 WHERE cloud_id = ? AND name = ?').run(cloudId, host);
  }

  insertInstance(cloudId: string, i: SimInstanceRecord): void {
    if (this.keepsRows) this.writeInstance(cloudId, i);
  }

  private writeInstance(cloudId: string, i: SimInstanceRecord): void {
    this.sql(
      'INSERT INTO sim_instances (cloud_id, id, name, project_id, host, vcpus, memory_mb, floating_ip, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(cloudId, i.id, i.name, i.projectId, i.host, i.vcpus, i.memoryMb, i.floatingIp ? 1 : 0, i.status);
  }

  /** Where an instance is and what state it is in: the only fields of an instance that change. */
  updateInstance(cloudId: string, id: string, host: string, status: string): void {
    if (!this.keepsRows) return;
    this.sql('UPDATE sim_instances SET host = ?, status = ? WHERE cloud_id = ? AND id = ?').run(host, status, cloudId, id);
  }

  deleteInstance(cloudId: string, id: string): void {
    if (!this.keepsRows) return;
    this.sql('DELETE FROM sim_instances WHERE cloud_id = ? AND id = ?').run(cloudId, id);
  }

  insertOperation(cloudId: string, op: SimOperationRecord): void {
    if (!this.keepsRows) return;
    this.sql(
      'INSERT INTO sim_operations (cloud_id, key, kind, target, from_host, to_host, due_at, outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(cloudId, op.key, op.kind, op.target, op.from, op.to, op.dueAt, op.outcome, op.error);
  }

  finishOperation(cloudId: string, key: string, outcome: Exclude<SimOutcome, 'running'>, error: string | null): void {
    if (!this.keepsRows) return;
    this.sql('UPDATE sim_operations SET outcome = ?, error = ? WHERE cloud_id = ? AND key = ?').run(outcome, error, cloudId, key);
  }

  /** Records an act; false (and nothing written) when it was already recorded. */
  recordAct(cloudId: string, act: SimActRecord): boolean {
    if (!this.keepsRows) return true; // the SimCloud's own map of acts says whether it was done
    const info = this.sql('INSERT OR IGNORE INTO sim_vnfm_acts (cloud_id, session_id, project_id, act, detail) VALUES (?, ?, ?, ?, ?)').run(
      cloudId, act.sessionId, act.projectId, act.act, JSON.stringify(act.detail),
    );
    return info.changes === 1;
  }

  /** The sim's own events (no session), in the store's event log. */
  appendEvent(cloudId: string, time: number, eventType: string, payload: Record<string, unknown>): void {
    if (!this.keepsRows) return;
    this.store.appendEvent(null, time, eventType, { cloud_id: cloudId, ...payload });
  }
}

/** A cloud file as the rows importCloud writes would read back: nothing running yet, every instance ACTIVE. */
function stateOf(id: string, cloud: CloudFile, name: string): SimCloudState {
  return {
    id,
    name,
    timing: { ...cloud.timing },
    faults: cloud.faults.map((f) => ({ ...f })),
    hosts: cloud.hosts
      .map((h) => ({ name: h.name, type: h.type, vcpus: h.vcpus, memoryMb: h.memory_mb ?? null, enabled: true, disabledReason: null, maintainedCount: 0 }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    instances: cloud.instances
      .map((i) => ({ id: i.id ?? randomUUID(), name: i.name, projectId: i.project, host: i.host, vcpus: i.vcpus, memoryMb: i.memory_mb ?? null, floatingIp: i.floating_ip, status: 'ACTIVE' }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    projects: cloud.projects
      .map((p) => ({ id: p.id, autoReply: p.auto_reply, action: p.action, scaleIn: p.scale_in, replyDelayS: p.reply_delay_s }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    operations: [],
    acts: [],
  };
}
