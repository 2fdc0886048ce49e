// The simulated cloud: hosts, instances and in-flight operations, all kept in the store, moving
// in simulated time. Nova-like: moves are requested, take time, reserve room on the target, and
// can fail half-way leaving the instance where it was.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../domain/clock.js';
import { chooseTarget, type CapacityHost } from '../../domain/placement.js';
import type { HostType } from '../../domain/states.js';
import { NotFoundError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import type { InfraHost, InfraInstance, MoveKind, Observation } from '../driver.js';

type Row = Record<string, unknown>;

export interface SimTiming {
  migrate_s: number;
  live_migrate_s: number;
  host_maintenance_s: number;
}

export type SimFault = { migrate_fails: string } | { host_fails: string };

export interface SimProject {
  id: string;
  autoReply: 'ack' | 'nack' | 'none';
  action: 'MIGRATE' | 'LIVE_MIGRATE' | 'OWN_ACTION';
  scaleIn: number;
  replyDelayS: number;
}

interface SimHostRow {
  name: string;
  type: HostType;
  vcpus: number;
  enabled: boolean;
  disabledReason: string | null;
  maintainedCount: number;
}

export class SimCloud {
  readonly timing: SimTiming;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    readonly cloudId: string,
  ) {
    const row = store.statement('SELECT * FROM sim_clouds WHERE id = ?').get(cloudId) as Row | undefined;
    if (!row) throw new NotFoundError(`no simulated cloud ${cloudId} in this store`);
    this.timing = JSON.parse(String(row.timing)) as SimTiming;
  }

  /** Read each time: a test (or an operator fixing the cause) may change them mid-session. */
  get faults(): SimFault[] {
    const row = this.sql('SELECT faults FROM sim_clouds WHERE id = ?').get(this.cloudId) as Row;
    return JSON.parse(String(row.faults)) as SimFault[];
  }

  /** Prepared once per store: the sim runs these statements thousands of times in a rehearsal. */
  private sql(text: string) {
    return this.store.statement(text);
  }

  private log(eventType: string, payload: Record<string, unknown>, time = this.clock.now()): void {
    this.store.appendEvent(null, time, eventType, { cloud_id: this.cloudId, ...payload });
  }

  // ---- reads (each first applies whatever finished by now)

  hosts(): InfraHost[] {
    this.settle();
    const used = this.usedVcpus();
    return this.hostRows().map((h) => ({
      name: h.name,
      type: h.type,
      vcpus: h.vcpus,
      vcpusUsed: used.get(h.name) ?? 0,
      enabled: h.enabled,
      disabledReason: h.disabledReason,
    }));
  }

  instances(): InfraInstance[] {
    this.settle();
    return (this.sql('SELECT * FROM sim_instances WHERE cloud_id = ? ORDER BY name').all(this.cloudId) as Row[]).map((r) => ({
      id: String(r.id),
      name: String(r.name),
      projectId: String(r.project_id),
      host: String(r.host),
      status: String(r.status),
      vcpus: Number(r.vcpus),
      floatingIp: r.floating_ip === 1,
    }));
  }

  projects(): SimProject[] {
    return (this.sql('SELECT * FROM sim_projects WHERE cloud_id = ? ORDER BY id').all(this.cloudId) as Row[]).map((r) => ({
      id: String(r.id),
      autoReply: r.auto_reply as SimProject['autoReply'],
      action: r.action as SimProject['action'],
      scaleIn: Number(r.scale_in),
      replyDelayS: Number(r.reply_delay_s),
    }));
  }

  private hostRows(): SimHostRow[] {
    return (this.sql('SELECT * FROM sim_hosts WHERE cloud_id = ? ORDER BY name').all(this.cloudId) as Row[]).map((r) => ({
      name: String(r.name),
      type: r.type as HostType,
      vcpus: Number(r.vcpus),
      enabled: r.enabled === 1,
      disabledReason: (r.disabled_reason as string | null) ?? null,
      maintainedCount: Number(r.maintained_count),
    }));
  }

  /** vCPUs in use per host: instances there plus room claimed by moves heading there. */
  private usedVcpus(): Map<string, number> {
    const used = new Map<string, number>();
    const add = (host: string, n: number) => used.set(host, (used.get(host) ?? 0) + n);
    for (const r of this.sql('SELECT host, SUM(vcpus) AS vcpus FROM sim_instances WHERE cloud_id = ? GROUP BY host').all(this.cloudId) as Row[]) {
      add(String(r.host), Number(r.vcpus));
    }
    const claims = this.sql(
        `SELECT o.to_host AS host, i.vcpus AS vcpus FROM sim_operations o JOIN sim_instances i ON i.cloud_id = o.cloud_id AND i.id = o.target
         WHERE o.cloud_id = ? AND o.outcome = 'running' AND o.to_host IS NOT NULL`,
      )
      .all(this.cloudId) as Row[];
    for (const r of claims) add(String(r.host), Number(r.vcpus));
    return used;
  }

  /** Where the scheduler would put `vcpus` now: enabled computes with room, maintained ones first. */
  placeFor(vcpus: number, excludeHost: string | null): string | null {
    const used = this.usedVcpus();
    const hosts: CapacityHost[] = this.hostRows()
      .filter((h) => h.type === 'compute')
      .map((h) => ({
        name: h.name,
        vcpus: h.vcpus,
        vcpusUsed: used.get(h.name) ?? 0,
        acceptsInstances: h.enabled && h.name !== excludeHost,
        maintained: h.maintainedCount > 0,
      }));
    return chooseTarget(vcpus, hosts);
  }

  // ---- host scheduling

  setEnabled(name: string, enabled: boolean, reason: string | null): void {
    this.requireHost(name);
    this.sql('UPDATE sim_hosts SET enabled = ?, disabled_reason = ? WHERE cloud_id = ? AND name = ?').run(
      enabled ? 1 : 0, enabled ? null : reason, this.cloudId, name,
    );
    this.log(enabled ? 'sim.host.enabled' : 'sim.host.disabled', { host: name, reason });
  }

  private requireHost(name: string): void {
    const row = this.sql('SELECT 1 FROM sim_hosts WHERE cloud_id = ? AND name = ?').get(this.cloudId, name);
    if (!row) throw new NotFoundError(`host ${name} not found`);
  }

  // ---- operations: requested now, finished (or failed) in simulated time

  private operation(key: string): Row | undefined {
    return this.sql('SELECT * FROM sim_operations WHERE cloud_id = ? AND key = ?').get(this.cloudId, key) as Row | undefined;
  }

  requestMove(key: string, instanceId: string, kind: MoveKind): void {
    this.settle();
    if (this.operation(key)) return;
    const inst = this.sql('SELECT * FROM sim_instances WHERE cloud_id = ? AND id = ?').get(this.cloudId, instanceId) as Row | undefined;
    if (!inst) throw new NotFoundError(`instance ${instanceId} could not be found`);
    if (inst.status !== 'ACTIVE') throw new Error(`cannot ${kind.toLowerCase()} instance ${instanceId} while it is in status ${String(inst.status)}`);
    const from = String(inst.host);
    const to = this.placeFor(Number(inst.vcpus), from);
    if (!to) throw new Error(`no valid host was found for instance ${String(inst.name)} (${Number(inst.vcpus)} vCPUs)`);
    const seconds = kind === 'LIVE_MIGRATE' ? this.timing.live_migrate_s : this.timing.migrate_s;
    const now = this.clock.now();
    this.store.tx(() => {
      this.sql("INSERT INTO sim_operations (cloud_id, key, kind, target, from_host, to_host, due_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, 'running')")
        .run(this.cloudId, key, kind, instanceId, from, to, now + seconds * 1000);
      this.sql("UPDATE sim_instances SET status = 'MIGRATING' WHERE cloud_id = ? AND id = ?").run(this.cloudId, instanceId);
      this.log('sim.move.started', { key, instance_id: instanceId, name: inst.name, kind, from, to });
    });
  }

  requestHostMaintenance(key: string, host: string): void {
    this.settle();
    if (this.operation(key)) return;
    this.requireHost(host);
    const left = this.sql('SELECT name FROM sim_instances WHERE cloud_id = ? AND host = ? ORDER BY name').all(this.cloudId, host) as Row[];
    if (left.length) throw new Error(`host ${host} still runs ${left.map((i) => String(i.name)).join(', ')}: refusing to take it down`);
    const now = this.clock.now();
    this.store.tx(() => {
      this.sql("INSERT INTO sim_operations (cloud_id, key, kind, target, due_at, outcome) VALUES (?, ?, 'HOST_MAINTENANCE', ?, ?, 'running')")
        .run(this.cloudId, key, host, now + this.timing.host_maintenance_s * 1000);
      this.log('sim.host.maintenance_started', { key, host });
    });
  }

  observe(key: string): Observation {
    this.settle();
    const op = this.operation(key);
    if (!op) return { phase: 'unknown' };
    if (op.outcome === 'running') return { phase: 'running', checkAt: Number(op.due_at) };
    if (op.outcome === 'failed') return { phase: 'failed', cause: String(op.error) };
    return { phase: 'done', result: op.to_host ? { host: String(op.to_host) } : {} };
  }

  /** Applies every operation due by now, in due order (lazily: the sim has no background thread). */
  settle(): void {
    const due = this.sql("SELECT * FROM sim_operations WHERE cloud_id = ? AND outcome = 'running' AND due_at <= ? ORDER BY due_at, key")
      .all(this.cloudId, this.clock.now()) as Row[];
    if (!due.length) return;
    this.store.tx(() => {
      for (const op of due) (op.kind === 'HOST_MAINTENANCE' ? this.finishHostMaintenance(op) : this.finishMove(op));
    });
  }

  private finish(op: Row, outcome: 'done' | 'failed', error: string | null): void {
    this.sql('UPDATE sim_operations SET outcome = ?, error = ? WHERE cloud_id = ? AND key = ?').run(outcome, error, this.cloudId, op.key);
  }

  private finishMove(op: Row): void {
    const id = String(op.target);
    const inst = this.sql('SELECT * FROM sim_instances WHERE cloud_id = ? AND id = ?').get(this.cloudId, id) as Row | undefined;
    const time = Number(op.due_at);
    if (!inst) return this.finish(op, 'failed', `instance ${id} was deleted during the move`);
    const faulty = this.faults.some((f) => 'migrate_fails' in f && (f.migrate_fails === inst.name || f.migrate_fails === id));
    if (faulty) {
      this.sql("UPDATE sim_instances SET status = 'ACTIVE' WHERE cloud_id = ? AND id = ?").run(this.cloudId, id);
      const cause = `simulated fault; ${String(inst.name)} stays on ${String(op.from_host)}`;
      this.log('sim.move.failed', { key: op.key, instance_id: id, name: inst.name, host: op.from_host, cause }, time);
      return this.finish(op, 'failed', cause);
    }
    this.sql("UPDATE sim_instances SET host = ?, status = 'ACTIVE' WHERE cloud_id = ? AND id = ?").run(op.to_host, this.cloudId, id);
    this.log('sim.instance.moved', { key: op.key, instance_id: id, name: inst.name, from: op.from_host, to: op.to_host }, time);
    this.finish(op, 'done', null);
  }

  private finishHostMaintenance(op: Row): void {
    const host = String(op.target);
    const time = Number(op.due_at);
    if (this.faults.some((f) => 'host_fails' in f && f.host_fails === host)) {
      const cause = `host ${host} did not come back after maintenance (simulated fault)`;
      this.log('sim.host.maintenance_failed', { key: op.key, host, cause }, time);
      return this.finish(op, 'failed', cause);
    }
    this.sql('UPDATE sim_hosts SET maintained_count = maintained_count + 1 WHERE cloud_id = ? AND name = ?').run(this.cloudId, host);
    this.log('sim.host.maintained', { key: op.key, host }, time);
    this.finish(op, 'done', null);
  }

  // ---- what an application manager does to its own instances

  deleteInstance(id: string): void {
    const inst = this.sql('SELECT * FROM sim_instances WHERE cloud_id = ? AND id = ?').get(this.cloudId, id) as Row | undefined;
    if (!inst) return;
    this.sql('DELETE FROM sim_instances WHERE cloud_id = ? AND id = ?').run(this.cloudId, id);
    this.log('sim.instance.deleted', { instance_id: id, name: inst.name, project_id: inst.project_id, host: inst.host });
  }

  /** Boots an instance where the scheduler puts it; returns its new id, or null when nothing has room. */
  createInstance(spec: { name: string; projectId: string; vcpus: number; floatingIp: boolean }, excludeHost: string | null = null): string | null {
    const host = this.placeFor(spec.vcpus, excludeHost);
    if (!host) return null;
    const id = randomUUID();
    this.sql("INSERT INTO sim_instances (cloud_id, id, name, project_id, host, vcpus, floating_ip, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'ACTIVE')")
      .run(this.cloudId, id, spec.name, spec.projectId, host, spec.vcpus, spec.floatingIp ? 1 : 0);
    this.log('sim.instance.created', { instance_id: id, name: spec.name, project_id: spec.projectId, host });
    return id;
  }

  /** Records that a scripted VNFM did something once; false if it was already recorded. */
  recordAct(sessionId: string, projectId: string, act: string, detail: unknown): boolean {
    const info = this.sql('INSERT OR IGNORE INTO sim_vnfm_acts (cloud_id, session_id, project_id, act, detail) VALUES (?, ?, ?, ?, ?)')
      .run(this.cloudId, sessionId, projectId, act, JSON.stringify(detail));
    return info.changes === 1;
  }

  act(sessionId: string, projectId: string, act: string): unknown | null {
    const row = this.sql('SELECT detail FROM sim_vnfm_acts WHERE cloud_id = ? AND session_id = ? AND project_id = ? AND act = ?')
      .get(this.cloudId, sessionId, projectId, act) as Row | undefined;
    return row ? JSON.parse(String(row.detail)) : null;
  }

  transaction<T>(fn: () => T): T {
    return this.store.tx(fn);
  }
}
