// The engine's persistence: typed reads and writes over the SQLite tables. The store is the truth.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type {
  ActionPluginSpec,
  Host,
  Instance,
  Operation,
  OperationKind,
  OperationStatus,
  Project,
  Session,
  SessionEvent,
} from '../domain/model.js';
import type { AskedState, HostState, HostType, InstanceAction, PluginType, SessionState } from '../domain/states.js';
import { NotFoundError, InvalidInputError } from '../domain/errors.js';
import type { Statement } from 'better-sqlite3';
import { openDb, type Db } from './db.js';
import { processAlive } from './process-alive.js';
import { SessionCache } from './session-cache.js';

type Row = Record<string, unknown>;
const json = (value: unknown) => JSON.stringify(value);
const parse = <T>(text: unknown): T => JSON.parse(String(text)) as T;
const bool = (value: unknown) => value === 1 || value === true;

function toSession(r: Row, actions: ActionPluginSpec[]): Session {
  return {
    id: String(r.id),
    state: r.state as SessionState,
    workflow: String(r.workflow),
    maintenanceAt: Number(r.maintenance_at),
    metadata: parse(r.metadata),
    options: parse(r.options),
    driver: parse(r.driver),
    download: parse(r.download),
    actions,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    stateEnteredAt: Number(r.state_entered_at),
    visit: Number(r.visit),
    targetHost: (r.target_host as string | null) ?? null,
    failure: (r.failure as string | null) ?? null,
    failedState: (r.failed_state as SessionState | null) ?? null,
    discovered: bool(r.discovered),
    syncedAt: Number(r.synced_at),
    data: parse(r.data),
  };
}

const toHost = (r: Row): Host => ({
  name: String(r.name),
  type: r.type as HostType,
  vcpus: Number(r.vcpus),
  vcpusUsed: Number(r.vcpus_used),
  state: r.state as HostState,
  disabled: bool(r.disabled),
  disabledBefore: bool(r.disabled_before),
});

const toProject = (r: Row): Project => ({
  projectId: String(r.project_id),
  policy: r.policy as Project['policy'],
  state: (r.state as AskedState | null) ?? null,
  visit: Number(r.visit),
  replyState: (r.reply_state as string | null) ?? null,
  replyAt: r.reply_at === null ? null : Number(r.reply_at),
  repliedAt: r.replied_at === null ? null : Number(r.replied_at),
});

const toInstance = (r: Row): Instance => ({
  instanceId: String(r.instance_id),
  name: String(r.name),
  projectId: String(r.project_id),
  host: String(r.host),
  vcpus: Number(r.vcpus),
  floatingIp: bool(r.floating_ip),
  action: (r.action as InstanceAction | null) ?? null,
  actionDone: bool(r.action_done),
  projectState: (r.project_state as AskedState | null) ?? null,
  replacedId: (r.replaced_id as string | null) ?? null,
});

const toOperation = (r: Row): Operation => ({
  id: Number(r.id),
  sessionId: String(r.session_id),
  kind: r.kind as OperationKind,
  target: String(r.target),
  visit: Number(r.visit),
  params: parse(r.params),
  status: r.status as OperationStatus,
  checkAt: r.check_at === null ? null : Number(r.check_at),
  deadline: r.deadline === null ? null : Number(r.deadline),
  cause: (r.cause as string | null) ?? null,
  result: parse(r.result),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const toEvent = (r: Row): SessionEvent => ({
  id: Number(r.id),
  sessionId: (r.session_id as string | null) ?? null,
  time: Number(r.time),
  eventType: String(r.event_type),
  messageId: String(r.message_id),
  payload: parse(r.payload),
});

// Column name and encoder for each field a patch may change.
type Encoders<T> = { [K in keyof T]?: [string, (v: T[K]) => unknown] };
const same = <V>(v: V) => v as unknown;
const flag = (v: boolean) => (v ? 1 : 0);

const SESSION_COLUMNS: Encoders<Session> = {
  state: ['state', same],
  maintenanceAt: ['maintenance_at', same],
  metadata: ['metadata', json],
  options: ['options', json],
  updatedAt: ['updated_at', same],
  stateEnteredAt: ['state_entered_at', same],
  visit: ['visit', same],
  targetHost: ['target_host', same],
  failure: ['failure', same],
  failedState: ['failed_state', same],
  discovered: ['discovered', flag],
  syncedAt: ['synced_at', same],
  data: ['data', json],
};
const HOST_COLUMNS: Encoders<Host> = {
  type: ['type', same],
  vcpus: ['vcpus', same],
  vcpusUsed: ['vcpus_used', same],
  state: ['state', same],
  disabled: ['disabled', flag],
  disabledBefore: ['disabled_before', flag],
};
const PROJECT_COLUMNS: Encoders<Project> = {
  policy: ['policy', same],
  state: ['state', same],
  visit: ['visit', same],
  replyState: ['reply_state', same],
  replyAt: ['reply_at', same],
  repliedAt: ['replied_at', same],
};
const INSTANCE_COLUMNS: Encoders<Instance> = {
  instanceId: ['instance_id', same],
  name: ['name', same],
  host: ['host', same],
  vcpus: ['vcpus', same],
  floatingIp: ['floating_ip', flag],
  action: ['action', same],
  actionDone: ['action_done', flag],
  projectState: ['project_state', same],
  replacedId: ['replaced_id', same],
};
const OPERATION_COLUMNS: Encoders<Operation> = {
  status: ['status', same],
  checkAt: ['check_at', same],
  deadline: ['deadline', same],
  cause: ['cause', same],
  result: ['result', json],
  updatedAt: ['updated_at', same],
};

function assignments<T>(columns: Encoders<T>, patch: Partial<T>): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const key of Object.keys(patch) as (keyof T)[]) {
    const column = columns[key];
    if (!column) throw new Error(`field ${String(key)} cannot be updated`);
    parts.push(`${column[0]} = ?`);
    values.push(column[1](patch[key] as T[typeof key]));
  }
  return { sql: parts.join(', '), values };
}

export interface NewOperation {
  sessionId: string;
  kind: OperationKind;
  target: string;
  visit: number;
  params: Record<string, unknown>;
  deadline: number | null;
}

export interface Lease {
  owner: string;
  hostname: string;
  pid: number;
  expiresAt: number;
}

export class Store {
  readonly db: Db;
  private readonly statements = new Map<string, Statement<unknown[]>>();
  private readonly cache = new SessionCache();
  private cacheVersion = -1;

  constructor(db: Db) {
    this.db = db;
  }

  static open(path: string): Store {
    return new Store(openDb(path));
  }

  close(): void {
    this.db.close();
  }

  /** Runs fn in one IMMEDIATE transaction: all of it is written, or none. */
  tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      this.cache.clear(); // it may hold patches of what was just rolled back
      throw err;
    }
  }

  /** The session cache, emptied first if another connection committed since it was filled. */
  private cached(): SessionCache {
    const version = this.dataVersion();
    if (version !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = version;
    }
    return this.cache;
  }

  /** A prepared statement, prepared once per store (for other layers' own tables, e.g. the sim's). */
  statement(sql: string): Statement<unknown[]> {
    return this.stmt(sql);
  }

  private stmt(sql: string): Statement<unknown[]> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private update<T>(table: string, columns: Encoders<T>, patch: Partial<T>, where: string, keys: unknown[]): void {
    const { sql, values } = assignments(columns, patch);
    if (!sql) return;
    this.stmt(`UPDATE ${table} SET ${sql} WHERE ${where}`).run(...values, ...keys);
  }

  // ---- sessions

  insertSession(s: Session): void {
    this.stmt(
      `INSERT INTO sessions (id, state, workflow, maintenance_at, metadata, options, driver, download, created_at,
        updated_at, state_entered_at, visit, target_host, failure, failed_state, discovered, synced_at, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      s.id, s.state, s.workflow, s.maintenanceAt, json(s.metadata), json(s.options), json(s.driver), json(s.download),
      s.createdAt, s.updatedAt, s.stateEnteredAt, s.visit, s.targetHost, s.failure, s.failedState, flag(s.discovered),
      s.syncedAt, json(s.data),
    );
    s.actions.forEach((a, seq) =>
      this.stmt('INSERT INTO action_plugins (session_id, seq, plugin, type, metadata) VALUES (?, ?, ?, ?, ?)').run(
        s.id, seq, a.plugin, a.type, json(a.metadata),
      ),
    );
  }

  findSession(id: string): Session | null {
    return this.cached().read(id, 'session', () => this.readSession(id)) ?? null;
  }

  private readSession(id: string): Session | undefined {
    const row = this.stmt('SELECT * FROM sessions WHERE id = ?').get(id) as Row | undefined;
    if (!row) return undefined;
    const actions = (this.stmt('SELECT * FROM action_plugins WHERE session_id = ? ORDER BY seq').all(id) as Row[]).map(
      (a) => ({ plugin: String(a.plugin), type: a.type as PluginType, metadata: parse<Record<string, unknown>>(a.metadata) }),
    );
    return toSession(row, actions);
  }

  getSession(id: string): Session {
    const session = this.findSession(id);
    if (!session) throw new NotFoundError(`no session ${id}`);
    return session;
  }

  /** Resolves a full id or an unambiguous prefix of one. */
  resolveSessionId(idOrPrefix: string): string {
    if (!idOrPrefix) throw new InvalidInputError('a session id (or a prefix of one) is needed');
    // substr, not LIKE: ids are compared as written, case included.
    const rows = this.stmt('SELECT id FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 3').all(
      idOrPrefix.length,
      idOrPrefix,
    ) as Row[];
    const exact = rows.find((r) => r.id === idOrPrefix);
    if (exact) return idOrPrefix;
    if (rows.length === 0) throw new NotFoundError(`no session ${idOrPrefix}`);
    if (rows.length > 1) throw new InvalidInputError(`session id prefix "${idOrPrefix}" is ambiguous: give more characters`);
    return String(rows[0]!.id);
  }

  listSessions(): Session[] {
    return (this.stmt('SELECT id FROM sessions ORDER BY created_at, id').all() as Row[]).map((r) => this.getSession(String(r.id)));
  }

  activeSessionIds(): string[] {
    return (
      this.stmt("SELECT id FROM sessions WHERE state NOT IN ('MAINTENANCE_DONE', 'MAINTENANCE_FAILED') ORDER BY created_at").all() as Row[]
    ).map((r) => String(r.id));
  }

  updateSession(id: string, patch: Partial<Session>): void {
    this.update('sessions', SESSION_COLUMNS, patch, 'id = ?', [id]);
    this.cache.patchSession(id, patch);
  }

  deleteSession(id: string): void {
    this.cache.forget(id);
    this.stmt('DELETE FROM sessions WHERE id = ?').run(id);
    this.stmt('DELETE FROM leases WHERE session_id = ?').run(id);
  }

  // ---- hosts

  hosts(sessionId: string): Host[] {
    return this.cached().read(sessionId, 'hosts', () =>
      (this.stmt('SELECT * FROM hosts WHERE session_id = ? ORDER BY name').all(sessionId) as Row[]).map(toHost),
    )!;
  }

  insertHost(sessionId: string, h: Host): void {
    this.stmt(
      'INSERT INTO hosts (session_id, name, type, vcpus, vcpus_used, state, disabled, disabled_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(sessionId, h.name, h.type, h.vcpus, h.vcpusUsed, h.state, flag(h.disabled), flag(h.disabledBefore));
    this.cache.patchList(sessionId, 'hosts', h.name, () => ({ ...h }));
  }

  updateHost(sessionId: string, name: string, patch: Partial<Host>): void {
    this.update('hosts', HOST_COLUMNS, patch, 'session_id = ? AND name = ?', [sessionId, name]);
    this.cache.patchList(sessionId, 'hosts', name, (row) => (row ? { ...row, ...patch } : null));
  }

  // ---- projects

  projects(sessionId: string): Project[] {
    return this.cached().read(sessionId, 'projects', () =>
      (this.stmt('SELECT * FROM projects WHERE session_id = ? ORDER BY project_id').all(sessionId) as Row[]).map(toProject),
    )!;
  }

  insertProject(sessionId: string, projectId: string, policy: Project['policy']): void {
    const info = this.stmt('INSERT OR IGNORE INTO projects (session_id, project_id, policy) VALUES (?, ?, ?)').run(sessionId, projectId, policy);
    if (info.changes === 0) return;
    const fresh: Project = { projectId, policy, state: null, visit: -1, replyState: null, replyAt: null, repliedAt: null };
    this.cache.patchList(sessionId, 'projects', projectId, () => fresh);
  }

  updateProject(sessionId: string, projectId: string, patch: Partial<Project>): void {
    this.update('projects', PROJECT_COLUMNS, patch, 'session_id = ? AND project_id = ?', [sessionId, projectId]);
    this.cache.patchList(sessionId, 'projects', projectId, (row) => (row ? { ...row, ...patch } : null));
  }

  // ---- instances

  instances(sessionId: string): Instance[] {
    return this.cached().read(sessionId, 'instances', () =>
      (this.stmt('SELECT * FROM instances WHERE session_id = ? ORDER BY instance_id').all(sessionId) as Row[]).map(toInstance),
    )!;
  }

  insertInstance(sessionId: string, i: Instance): void {
    this.stmt(
      `INSERT INTO instances (session_id, instance_id, name, project_id, host, vcpus, floating_ip, action, action_done, project_state, replaced_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      sessionId, i.instanceId, i.name, i.projectId, i.host, i.vcpus, flag(i.floatingIp), i.action, flag(i.actionDone), i.projectState,
      i.replacedId,
    );
    this.cache.patchList(sessionId, 'instances', i.instanceId, () => ({ ...i }));
  }

  updateInstance(sessionId: string, instanceId: string, patch: Partial<Instance>): void {
    this.update('instances', INSTANCE_COLUMNS, patch, 'session_id = ? AND instance_id = ?', [sessionId, instanceId]);
    this.cache.patchList(sessionId, 'instances', instanceId, (row) => (row ? { ...row, ...patch } : null));
  }

  deleteInstance(sessionId: string, instanceId: string): void {
    this.stmt('DELETE FROM instances WHERE session_id = ? AND instance_id = ?').run(sessionId, instanceId);
    this.cache.patchList(sessionId, 'instances', instanceId, () => null);
  }

  // ---- operations

  operations(sessionId: string): Operation[] {
    return (this.stmt('SELECT * FROM operations WHERE session_id = ? ORDER BY id').all(sessionId) as Row[]).map(toOperation);
  }

  /** What a running session needs: the current visit's operations and any still unfinished. */
  liveOperations(sessionId: string, visit: number): Operation[] {
    return this.cached().readLive(sessionId, visit, () =>
      (
        this.stmt(
          `SELECT * FROM operations WHERE session_id = ? AND visit = ?
           UNION SELECT * FROM operations WHERE session_id = ? AND status IN ('started', 'requested') ORDER BY id`,
        ).all(sessionId, visit, sessionId) as Row[]
      ).map(toOperation),
    );
  }

  insertOperation(op: NewOperation, now: number): Operation {
    const info = this.stmt(
      `INSERT INTO operations (session_id, kind, target, visit, params, status, check_at, deadline, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'started', NULL, ?, ?, ?)`,
    ).run(op.sessionId, op.kind, op.target, op.visit, json(op.params), op.deadline, now, now);
    const inserted = toOperation(this.stmt('SELECT * FROM operations WHERE id = ?').get(info.lastInsertRowid) as Row);
    this.cache.addOperation(inserted);
    return inserted;
  }

  updateOperation(id: number, patch: Partial<Operation>): void {
    this.update('operations', OPERATION_COLUMNS, patch, 'id = ?', [id]);
    this.cache.patchOperation(id, patch);
  }

  // ---- replies and events

  insertReply(sessionId: string, projectId: string, state: string, instanceActions: Record<string, string>, now: number): void {
    this.stmt('INSERT INTO replies (session_id, project_id, state, instance_actions, received_at) VALUES (?, ?, ?, ?, ?)').run(
      sessionId, projectId, state, json(instanceActions), now,
    );
  }

  /** Appends an event and, in the same transaction, queues it for every webhook subscribed to it. */
  appendEvent(sessionId: string | null, time: number, eventType: string, payload: object): SessionEvent {
    const messageId = randomUUID();
    const info = this.stmt('INSERT INTO events (session_id, time, event_type, message_id, payload) VALUES (?, ?, ?, ?, ?)').run(
      sessionId, time, eventType, messageId, json(payload),
    );
    const eventId = Number(info.lastInsertRowid);
    const projectId = (payload as { project_id?: unknown }).project_id ?? null;
    // Project questions go to that project's subscribers (either name of the event); admin
    // notices to whoever subscribed to their type. A URL subscribed twice gets the event once.
    this.stmt(
      `INSERT INTO deliveries (event_id, subscription_id, session_id, url, format, status, attempts, next_attempt_at)
       SELECT ?, MIN(id), ?, url, format, 'pending', 0, ? FROM subscriptions
       WHERE url IS NOT NULL AND (session_id IS NULL OR session_id = ?)
         AND ((? = 'maintenance.planned' AND event_type IN ('maintenance.planned', 'maintenance.scheduled') AND project_id = ?)
           OR (? IN ('maintenance.host', 'maintenance.session') AND event_type = ?))
       GROUP BY url, format`,
    ).run(eventId, sessionId, time, sessionId, eventType, projectId, eventType, eventType);
    return { id: eventId, sessionId, time, eventType, messageId, payload: payload as Record<string, unknown> };
  }

  latestEventId(): number {
    return Number((this.stmt('SELECT COALESCE(MAX(id), 0) AS id FROM events').get() as Row).id);
  }

  event(id: number): SessionEvent | null {
    const row = this.stmt('SELECT * FROM events WHERE id = ?').get(id) as Row | undefined;
    return row ? toEvent(row) : null;
  }

  events(sessionId: string | null, afterId = 0): SessionEvent[] {
    const rows =
      sessionId === null
        ? this.stmt('SELECT * FROM events WHERE id > ? ORDER BY id').all(afterId)
        : this.stmt('SELECT * FROM events WHERE session_id = ? AND id > ? ORDER BY id').all(sessionId, afterId);
    return (rows as Row[]).map(toEvent);
  }

  // ---- leases

  /**
   * Takes or renews the lease on a session. Another owner's lease is taken over once it has
   * expired, or at once when that owner was a process on this machine that no longer runs.
   */
  acquireLease(sessionId: string, owner: string, now: number, ttlMs: number): boolean {
    return this.tx(() => {
      const row = this.stmt('SELECT * FROM leases WHERE session_id = ?').get(sessionId) as Row | undefined;
      if (row && row.owner !== owner && Number(row.expires_at) > now && !ownerIsGone(row)) return false;
      this.stmt(
        'INSERT OR REPLACE INTO leases (session_id, owner, hostname, pid, expires_at) VALUES (?, ?, ?, ?, ?)',
      ).run(sessionId, owner, hostname(), process.pid, now + ttlMs);
      return true;
    });
  }

  releaseLease(sessionId: string, owner: string): void {
    this.stmt('DELETE FROM leases WHERE session_id = ? AND owner = ?').run(sessionId, owner);
  }

  /** Whether some engine holds a valid lease on the session (and, if on this machine, still runs). */
  leaseHeld(sessionId: string, now: number): boolean {
    const row = this.stmt('SELECT * FROM leases WHERE session_id = ?').get(sessionId) as Row | undefined;
    return row !== undefined && Number(row.expires_at) > now && !ownerIsGone(row);
  }

  lease(sessionId: string): Lease | null {
    const row = this.stmt('SELECT * FROM leases WHERE session_id = ?').get(sessionId) as Row | undefined;
    return row ? { owner: String(row.owner), hostname: String(row.hostname), pid: Number(row.pid), expiresAt: Number(row.expires_at) } : null;
  }

  // ---- requests from other processes to the engine running a session

  addRequest(sessionId: string, kind: string, params: object, now: number): number {
    const info = this.stmt('INSERT INTO requests (session_id, kind, params, created_at) VALUES (?, ?, ?, ?)').run(sessionId, kind, json(params), now);
    return Number(info.lastInsertRowid);
  }

  pendingRequests(): Array<{ id: number; sessionId: string; kind: string; params: Record<string, unknown> }> {
    return (this.stmt('SELECT * FROM requests WHERE done_at IS NULL ORDER BY id').all() as Row[]).map((r) => ({
      id: Number(r.id),
      sessionId: String(r.session_id),
      kind: String(r.kind),
      params: parse(r.params),
    }));
  }

  finishRequest(id: number, result: object, now: number): void {
    this.stmt('UPDATE requests SET done_at = ?, result = ? WHERE id = ?').run(now, json(result), id);
  }

  /** The result once the request was carried out, else null. */
  requestResult(id: number): Record<string, unknown> | null {
    const row = this.stmt('SELECT result FROM requests WHERE id = ? AND done_at IS NOT NULL').get(id) as Row | undefined;
    return row ? parse(row.result) : null;
  }

  deleteRequest(id: number): void {
    this.stmt('DELETE FROM requests WHERE id = ?').run(id);
  }

  // ---- meta

  getMeta(key: string): string | null {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
    return row ? String(row.value) : null;
  }

  setMeta(key: string, value: string): void {
    this.stmt('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  /** Changes whenever another connection commits: lets an engine notice writes from other processes. */
  dataVersion(): number {
    return Number(this.db.pragma('data_version', { simple: true }));
  }
}

function ownerIsGone(row: Row): boolean {
  if (row.hostname !== hostname()) return false;
  const pid = Number(row.pid);
  return pid !== process.pid && !processAlive(pid);
}
