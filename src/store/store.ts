// The engine's persistence on SQLite: typed rows over the tables, written in batches. The store
// is the truth; the engine reaches it through the async Repository (repository.ts), other layers
// (views, the sim) through the few typed methods here. No SQL outside src/store/.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Statement } from 'better-sqlite3';
import type { Host, Instance, Operation, Project, Session, SessionEvent } from '../domain/model.js';
import type { SessionState } from '../domain/states.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { openDb, type Db, type OpenOptions } from './db.js';
import { processAlive } from './process-alive.js';
import { bool, flag, json, parse, text, toAction, toEvent, toHost, toInstance, toLease, toOperation, toProject, toSession, type Row } from './rows.js';

/**
 * The stored project row and the one written are about the same question (its deadline tells the
 * questions of one state, visit and wave apart: the vnf workflow asks about one instance after another).
 */
const SAME_QUESTION =
  'projects.state IS excluded.state AND projects.visit = excluded.visit AND projects.wave IS excluded.wave AND projects.reply_at IS excluded.reply_at';

/** Every row a running session works with. */
export interface SessionRows {
  session: Session;
  hosts: Host[];
  projects: Project[];
  instances: Instance[];
  /**
   * Unfinished operations, the session-wide steps (downloads, pre, post) and the steps of hosts in
   * maintenance, of every attempt: a continued session never runs a finished one again.
   */
  operations: Operation[];
}

/** Rows to write for one session in one transaction: whole rows, inserted or replaced. */
export interface ChangeSet {
  session?: Session;
  hosts?: Host[];
  projects?: Project[];
  instances?: Instance[];
  /** Instance ids to remove (gone, or re-instantiated under a new id). */
  removedInstances?: string[];
  /** Operations by (key, attempt): inserted or updated. Their ids are filled in. */
  operations?: Operation[];
  replies?: Array<{ projectId: string; state: string; instanceActions: Record<string, string>; receivedAt: number }>;
}

export interface NewEvent {
  eventType: string;
  payload: object;
}

export interface Lease {
  owner: string;
  hostname: string;
  pid: number;
  expiresAt: number;
  epoch: number;
}

/** Another session holds a host (a host belongs to at most one active session). */
export interface HostClaim {
  host: string;
  sessionId: string;
}

/** How many matching ids an ambiguous prefix lists. */
export const AMBIGUOUS_SHOWN = 10;

/** The session a typed id or prefix names, from the ids it matches (at most AMBIGUOUS_SHOWN + 1, sorted). */
export function pickSessionId(idOrPrefix: string, ids: string[]): string {
  const exact = ids.find((id) => id.toLowerCase() === idOrPrefix.toLowerCase());
  if (exact) return exact;
  if (ids.length === 0) throw new NotFoundError(`no session ${idOrPrefix}`);
  if (ids.length > 1) {
    const listed = ids.slice(0, AMBIGUOUS_SHOWN).join(', ') + (ids.length > AMBIGUOUS_SHOWN ? ' and more' : '');
    throw new InvalidInputError(`session id prefix "${idOrPrefix}" is ambiguous: it matches ${listed}; give more characters`);
  }
  return ids[0]!;
}

/** Each session's state and host counts, oldest first, in one query (the same SQL on SQLite and PostgreSQL). */
export const SESSION_COUNTS_SQL = `SELECT s.id, s.state, s.workflow, s.created_at, s.updated_at,
    (SELECT COUNT(*) FROM hosts h WHERE h.session_id = s.id) AS total,
    (SELECT COUNT(*) FROM hosts h WHERE h.session_id = s.id AND h.state = 'MAINTAINED') AS maintained
  FROM sessions s ORDER BY s.created_at, s.id`;

export const toSessionCount = (r: Row): SessionCount => ({
  id: String(r.id),
  state: r.state as SessionState,
  workflow: String(r.workflow),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  hostsTotal: Number(r.total),
  hostsMaintained: Number(r.maintained),
});

/** A session's state and host counts (for listing many sessions). */
export interface SessionCount {
  id: string;
  state: SessionState;
  workflow: string;
  createdAt: number;
  updatedAt: number;
  hostsTotal: number;
  hostsMaintained: number;
}

/** Units of work committed together by a private store (see Store.tx). */
const UNITS_PER_COMMIT = 500;

export class Store {
  readonly db: Db;
  private readonly statements = new Map<string, Statement<unknown[]>>();
  /** Nobody else can read this store (in memory, or a scratch file): its commits are grouped. */
  private readonly grouped: boolean;
  /** A scratch store (Store.scratch): private, and thrown away on close. */
  readonly scratch: boolean;
  private unitsInGroup = 0;
  private depth = 0;
  private readonly onClose: () => void;

  constructor(db: Db, options: { scratch?: boolean; onClose?: () => void } = {}) {
    this.db = db;
    this.scratch = options.scratch ?? false;
    this.grouped = this.scratch || db.memory;
    this.onClose = options.onClose ?? (() => undefined);
  }

  /** Opens (and with `create`, the default, makes when missing) the store at path. */
  static open(path: string, options: OpenOptions = {}): Store {
    return new Store(openDb(path, options));
  }

  /**
   * A private store in a scratch file, removed on close (rehearsals, benchmarks): its size is
   * bounded by the disk rather than this process's memory, and nothing of it needs to survive.
   */
  static scratch(): Store {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-scratch-'));
    const db = openDb(join(dir, 'scratch.db'));
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -131072'); // 128 MiB of pages: the hot ones (open operations, indexes) stay in memory
    return new Store(db, { scratch: true, onClose: () => rmSync(dir, { recursive: true, force: true }) });
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  close(): void {
    if (this.db.open && this.grouped && this.db.inTransaction) this.db.exec('COMMIT');
    this.db.close();
    this.onClose();
  }

  /**
   * Runs fn in one IMMEDIATE transaction: all of it is written, or none. A private store runs it
   * as a savepoint of a longer transaction instead, committed every few hundred units: a commit
   * of an in-memory SQLite database costs more the bigger the database is, and nobody waits to
   * read these writes.
   */
  tx<T>(fn: () => T): T {
    if (!this.grouped) return this.db.transaction(fn).immediate();
    if (!this.db.inTransaction) {
      this.db.exec('BEGIN IMMEDIATE');
      this.unitsInGroup = 0;
    }
    this.depth++;
    try {
      return this.db.transaction(fn)();
    } finally {
      this.depth--;
      if (this.depth === 0 && ++this.unitsInGroup >= UNITS_PER_COMMIT && this.db.inTransaction) this.db.exec('COMMIT');
    }
  }

  /** A prepared statement, prepared once per store (for the store's own modules, e.g. the sim's tables). */
  statement(sql: string): Statement<unknown[]> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private stmt(sql: string): Statement<unknown[]> {
    return this.statement(sql);
  }

  // ---- sessions

  insertSession(s: Session): void {
    this.writeSession(s);
    s.actions.forEach((a, seq) =>
      this.stmt('INSERT INTO action_plugins (session_id, seq, plugin, type, metadata, position) VALUES (?, ?, ?, ?, ?, ?)').run(
        s.id, seq, a.plugin, a.type, json(a.metadata), a.order ?? null,
      ),
    );
  }

  /** Inserts or replaces the session row (its action plug-ins never change). */
  private writeSession(s: Session): void {
    this.stmt(
      `INSERT INTO sessions (id, state, workflow, maintenance_at, metadata, options, driver, download, created_at,
        updated_at, state_entered_at, visit, attempt, failure, failed_state, discovered, synced_at, data, plugin_dirs)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, maintenance_at = excluded.maintenance_at,
         metadata = excluded.metadata, options = excluded.options, updated_at = excluded.updated_at,
         state_entered_at = excluded.state_entered_at, visit = excluded.visit, attempt = excluded.attempt,
         failure = excluded.failure, failed_state = excluded.failed_state, discovered = excluded.discovered,
         synced_at = excluded.synced_at, data = excluded.data`,
    ).run(
      s.id, s.state, s.workflow, s.maintenanceAt, json(s.metadata), json(s.options), json(s.driver), json(s.download),
      s.createdAt, s.updatedAt, s.stateEnteredAt, s.visit, s.attempt, s.failure, s.failedState, flag(s.discovered),
      s.syncedAt, json(s.data), json(s.pluginDirs),
    );
  }

  findSession(id: string): Session | null {
    const row = this.stmt('SELECT * FROM sessions WHERE id = ?').get(id) as Row | undefined;
    if (!row) return null;
    const actions = (this.stmt('SELECT * FROM action_plugins WHERE session_id = ? ORDER BY seq').all(id) as Row[]).map(toAction);
    return toSession(row, actions);
  }

  getSession(id: string): Session {
    const session = this.findSession(id);
    if (!session) throw new NotFoundError(`no session ${id}`);
    return session;
  }

  /** Resolves a full id or an unambiguous prefix of one, in any case (ids are lower-case). */
  resolveSessionId(idOrPrefix: string): string {
    if (!idOrPrefix) throw new InvalidInputError('a session id (or a prefix of one) is needed');
    const prefix = idOrPrefix.toLowerCase();
    // substr, not LIKE: % and _ in what was typed are characters, not patterns.
    const rows = this.stmt('SELECT id FROM sessions WHERE lower(substr(id, 1, ?)) = ? ORDER BY id LIMIT ?').all(
      prefix.length,
      prefix,
      AMBIGUOUS_SHOWN + 1,
    ) as Row[];
    return pickSessionId(idOrPrefix, rows.map((r) => String(r.id)));
  }

  listSessions(): Session[] {
    return (this.stmt('SELECT id FROM sessions ORDER BY created_at, id').all() as Row[]).map((r) => this.getSession(String(r.id)));
  }

  /** Each session's state and host counts, oldest first, in one query (for listing many sessions). */
  sessionCounts(): SessionCount[] {
    return (this.stmt(SESSION_COUNTS_SQL).all() as Row[]).map(toSessionCount);
  }

  activeSessionIds(): string[] {
    return (
      this.stmt("SELECT id FROM sessions WHERE state NOT IN ('MAINTENANCE_DONE', 'MAINTENANCE_FAILED') ORDER BY created_at").all() as Row[]
    ).map((r) => String(r.id));
  }

  deleteSession(id: string): void {
    this.stmt('DELETE FROM sessions WHERE id = ?').run(id);
    this.stmt('DELETE FROM leases WHERE session_id = ?').run(id);
  }

  /** Everything a runner needs to carry on with a session, or null when it is gone. */
  loadRows(sessionId: string): SessionRows | null {
    const session = this.findSession(sessionId);
    if (!session) return null;
    const operations = (
      this.stmt(
        `SELECT * FROM operations WHERE session_id = ? AND (status IN ('started', 'requested')
           OR key LIKE 'pre:%' OR key LIKE 'post:%' OR key = 'download'
           OR (key LIKE 'host:%' AND target IN (SELECT name FROM hosts WHERE session_id = ? AND state IN ('IN_MAINTENANCE', 'FAILED')))) ORDER BY id`,
      ).all(sessionId, sessionId) as Row[]
    ).map(toOperation);
    return { session, hosts: this.hosts(sessionId), projects: this.projects(sessionId), instances: this.instances(sessionId), operations };
  }

  // ---- rows of a session

  hosts(sessionId: string): Host[] {
    return (this.stmt('SELECT * FROM hosts WHERE session_id = ? ORDER BY name').all(sessionId) as Row[]).map(toHost);
  }

  projects(sessionId: string): Project[] {
    return (this.stmt('SELECT * FROM projects WHERE session_id = ? ORDER BY project_id').all(sessionId) as Row[]).map(toProject);
  }

  project(sessionId: string, projectId: string): Project | null {
    const row = this.stmt('SELECT * FROM projects WHERE session_id = ? AND project_id = ?').get(sessionId, projectId) as Row | undefined;
    return row ? toProject(row) : null;
  }

  /** A project's instances a question is about: those of its wave, or all of them for a session-wide one. */
  questionInstances(sessionId: string, project: Project): Instance[] {
    if (project.wave === null) return this.instances(sessionId, project.projectId);
    // Sorted here: ORDER BY instance_id would make SQLite walk the primary key instead of the wave's index.
    const rows = this.stmt('SELECT * FROM instances INDEXED BY instances_question WHERE session_id = ? AND project_id = ? AND wave = ?').all(
      sessionId, project.projectId, project.wave,
    ) as Row[];
    return rows.map(toInstance).sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));
  }

  instances(sessionId: string, projectId?: string): Instance[] {
    const rows =
      projectId === undefined
        ? this.stmt('SELECT * FROM instances WHERE session_id = ? ORDER BY instance_id').all(sessionId)
        : this.stmt('SELECT * FROM instances WHERE session_id = ? AND project_id = ? ORDER BY instance_id').all(sessionId, projectId);
    return (rows as Row[]).map(toInstance);
  }

  operations(sessionId: string): Operation[] {
    return (this.stmt('SELECT * FROM operations WHERE session_id = ? ORDER BY id').all(sessionId) as Row[]).map(toOperation);
  }

  /** Writes a batch of rows of one session (call inside tx). */
  applyChanges(sessionId: string, changes: ChangeSet): void {
    if (changes.session) this.writeSession(changes.session);
    for (const h of changes.hosts ?? []) this.writeHost(sessionId, h);
    for (const p of changes.projects ?? []) this.writeProject(sessionId, p);
    for (const id of changes.removedInstances ?? []) {
      this.stmt('DELETE FROM instances WHERE session_id = ? AND instance_id = ?').run(sessionId, id);
    }
    for (const i of changes.instances ?? []) this.writeInstance(sessionId, i);
    for (const op of changes.operations ?? []) op.id = this.writeOperation(op);
    for (const r of changes.replies ?? []) {
      this.stmt('INSERT INTO replies (session_id, project_id, state, instance_actions, received_at) VALUES (?, ?, ?, ?, ?)').run(
        sessionId, r.projectId, r.state, json(r.instanceActions), r.receivedAt,
      );
    }
  }

  private writeHost(sessionId: string, h: Host): void {
    this.stmt(
      `INSERT OR REPLACE INTO hosts (session_id, name, type, vcpus, vcpus_used, memory_mb, memory_mb_used, state, wave, step,
         cause, since, disabled, disabled_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      sessionId, h.name, h.type, h.vcpus, h.vcpusUsed, h.memoryMb, h.memoryMbUsed, h.state, h.wave, h.step, h.cause, h.since,
      flag(h.disabled), flag(h.disabledBefore),
    );
  }

  /**
   * A runner writes a project's row from its memory; an answer another process recorded since
   * (same question, reply still empty in the runner's copy) is never erased by it.
   */
  private writeProject(sessionId: string, p: Project): void {
    this.stmt(
      `INSERT INTO projects (session_id, project_id, policy, state, visit, wave, reply_state, reply_at, replied_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id, project_id) DO UPDATE SET policy = excluded.policy, state = excluded.state,
         visit = excluded.visit, wave = excluded.wave, reply_at = excluded.reply_at,
         reply_state = CASE WHEN ${SAME_QUESTION} THEN COALESCE(excluded.reply_state, projects.reply_state) ELSE excluded.reply_state END,
         replied_at = CASE WHEN ${SAME_QUESTION} THEN COALESCE(excluded.replied_at, projects.replied_at) ELSE excluded.replied_at END`,
    ).run(sessionId, p.projectId, p.policy, p.state, p.visit, p.wave, p.replyState, p.replyAt, p.repliedAt);
  }

  /** The same for an instance's chosen action: kept while the runner's copy has none for the same question. */
  private writeInstance(sessionId: string, i: Instance): void {
    this.stmt(
      `INSERT INTO instances (session_id, instance_id, name, project_id, host, vcpus, memory_mb, floating_ip, wave,
         target, action, action_done, project_state, replaced_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id, instance_id) DO UPDATE SET name = excluded.name, host = excluded.host, vcpus = excluded.vcpus,
         memory_mb = excluded.memory_mb, floating_ip = excluded.floating_ip, wave = excluded.wave, target = excluded.target,
         action_done = excluded.action_done, project_state = excluded.project_state, replaced_id = excluded.replaced_id,
         action = CASE WHEN excluded.action IS NULL AND instances.wave IS excluded.wave AND instances.project_state IS excluded.project_state
           AND instances.action_done = excluded.action_done THEN instances.action ELSE excluded.action END`,
    ).run(
      sessionId, i.instanceId, i.name, i.projectId, i.host, i.vcpus, i.memoryMb, flag(i.floatingIp), i.wave, i.target, i.action,
      flag(i.actionDone), i.projectState, i.replacedId,
    );
  }

  private writeOperation(op: Operation): number {
    // A row written before is updated by its id (cheaper than the upsert on the key); when that
    // finds nothing (its first write was rolled back), it is inserted after all.
    if (op.id > 0) {
      const updated = this.stmt(
        'UPDATE operations SET status = ?, check_at = ?, deadline = ?, cause = ?, result = ?, updated_at = ? WHERE id = ? AND key = ?',
      ).run(op.status, op.checkAt, op.deadline, op.cause, json(op.result), op.updatedAt, op.id, op.key);
      if (updated.changes > 0) return op.id;
    }
    const row = this.stmt(
      `INSERT INTO operations (session_id, kind, target, key, attempt, params, status, check_at, deadline, cause, result, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id, key, attempt) DO UPDATE SET status = excluded.status, check_at = excluded.check_at,
         deadline = excluded.deadline, cause = excluded.cause, result = excluded.result, updated_at = excluded.updated_at
       RETURNING id`,
    ).get(
      op.sessionId, op.kind, op.target, op.key, op.attempt, json(op.params), op.status, op.checkAt, op.deadline, op.cause,
      json(op.result), op.createdAt, op.updatedAt,
    ) as Row;
    return Number(row.id);
  }

  // ---- replies and events

  /** Replies recorded after `afterId` (by any process), oldest first. */
  repliesSince(sessionId: string, afterId: number): Array<{ id: number; projectId: string; state: string; instanceActions: Record<string, string>; receivedAt: number }> {
    return (this.stmt('SELECT * FROM replies WHERE session_id = ? AND id > ? ORDER BY id').all(sessionId, afterId) as Row[]).map((r) => ({
      id: Number(r.id),
      projectId: String(r.project_id),
      state: String(r.state),
      instanceActions: parse(r.instance_actions),
      receivedAt: Number(r.received_at),
    }));
  }

  latestReplyId(sessionId: string): number {
    return Number((this.stmt('SELECT COALESCE(MAX(id), 0) AS id FROM replies WHERE session_id = ?').get(sessionId) as Row).id);
  }

  /** Appends an event and, in the same transaction, queues it for every webhook subscribed to it. */
  appendEvent(sessionId: string | null, time: number, eventType: string, payload: object): SessionEvent {
    const messageId = randomUUID();
    const info = this.stmt('INSERT INTO events (session_id, time, event_type, message_id, payload) VALUES (?, ?, ?, ?, ?)').run(
      sessionId, time, eventType, messageId, json(payload),
    );
    const eventId = Number(info.lastInsertRowid);
    if (this.hasWebhooks()) this.queueDeliveries(eventId, sessionId, time, eventType, payload);
    return { id: eventId, sessionId, time, eventType, messageId, payload: payload as Record<string, unknown> };
  }

  /** Whether any webhook subscription exists: most rehearsals have none, and skip the outbox query. */
  private hasWebhooks(): boolean {
    return this.stmt('SELECT 1 FROM subscriptions WHERE url IS NOT NULL LIMIT 1').get() !== undefined;
  }

  private queueDeliveries(eventId: number, sessionId: string | null, time: number, eventType: string, payload: object): void {
    const projectId = (payload as { project_id?: unknown }).project_id ?? null;
    // Project questions go to that project's subscribers (either name of the event); admin
    // notices to whoever subscribed to their type. A URL subscribed twice gets the event once.
    this.stmt(
      `INSERT INTO deliveries (event_id, subscription_id, session_id, url, format, status, attempts, next_attempt_at)
       SELECT ?, MIN(id), ?, url, format, 'pending', 0, ? FROM subscriptions
       WHERE url IS NOT NULL AND (session_id IS NULL OR session_id = ?)
         AND ((? = 'maintenance.planned' AND event_type IN ('maintenance.planned', 'maintenance.scheduled') AND project_id = ?)
           OR (? IN ('maintenance.host', 'maintenance.session', 'maintctl.notification') AND event_type = ?))
       GROUP BY url, format`,
    ).run(eventId, sessionId, time, sessionId, eventType, projectId, eventType, eventType);
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

  /** How many events a session has recorded (without reading them). */
  eventCount(sessionId: string): number {
    return Number(this.stmt('SELECT COUNT(*) FROM events WHERE session_id = ?').pluck().get(sessionId));
  }

  // ---- host claims

  /** Claims the hosts for the session; returns the hosts another session holds (and claims nothing then). */
  claimHosts(infrastructure: string, hosts: readonly string[], sessionId: string): HostClaim[] {
    const held = hosts
      .map((host) => this.stmt('SELECT session_id FROM host_claims WHERE infrastructure = ? AND host = ?').get(infrastructure, host) as Row | undefined)
      .map((row, i) => (row && row.session_id !== sessionId ? { host: hosts[i]!, sessionId: String(row.session_id) } : null))
      .filter((c): c is HostClaim => c !== null);
    if (held.length) return held;
    for (const host of hosts) {
      this.stmt('INSERT OR REPLACE INTO host_claims (infrastructure, host, session_id) VALUES (?, ?, ?)').run(infrastructure, host, sessionId);
    }
    return [];
  }

  releaseClaims(sessionId: string): void {
    this.stmt('DELETE FROM host_claims WHERE session_id = ?').run(sessionId);
  }

  /** Hosts of the infrastructure that other active sessions hold. */
  claimedHosts(infrastructure: string, exceptSession: string): Set<string> {
    const rows = this.stmt('SELECT host FROM host_claims WHERE infrastructure = ? AND session_id <> ?').all(infrastructure, exceptSession) as Row[];
    return new Set(rows.map((r) => String(r.host)));
  }

  // ---- leases

  /**
   * Takes or renews the lease on a session; returns its epoch, or null when another owner holds
   * it. Another owner's lease is taken over once it has expired, or at once when that owner was
   * a process on this machine that no longer runs. Each takeover starts a new epoch.
   */
  acquireLease(sessionId: string, owner: string, now: number, ttlMs: number): number | null {
    return this.tx(() => {
      const row = this.stmt('SELECT * FROM leases WHERE session_id = ?').get(sessionId) as Row | undefined;
      if (row && row.owner !== owner && Number(row.expires_at) > now && !ownerIsGone(row)) return null;
      const epoch = row ? Number(row.epoch) + (row.owner === owner ? 0 : 1) : 1;
      this.stmt(
        'INSERT OR REPLACE INTO leases (session_id, owner, hostname, pid, expires_at, epoch) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(sessionId, owner, hostname(), process.pid, now + ttlMs, epoch);
      return epoch;
    });
  }

  /** Whether the owner still holds the lease at this epoch (checked in every write of a runner). */
  holdsLease(sessionId: string, owner: string, epoch: number): boolean {
    const row = this.stmt('SELECT owner, epoch FROM leases WHERE session_id = ?').get(sessionId) as Row | undefined;
    return row !== undefined && row.owner === owner && Number(row.epoch) === epoch;
  }

  releaseLease(sessionId: string, owner: string): void {
    this.stmt('DELETE FROM leases WHERE session_id = ? AND owner = ?').run(sessionId, owner);
  }

  /** Whether some engine holds a valid lease on the session (and, if on this machine, still runs). */
  leaseHeld(sessionId: string, now: number): boolean {
    const row = this.stmt('SELECT * FROM leases WHERE session_id = ?').get(sessionId) as Row | undefined;
    return row !== undefined && Number(row.expires_at) > now && !ownerIsGone(row);
  }

  /** The leases valid at `now`, of every session (who runs what). */
  heldLeases(now: number): Array<Lease & { sessionId: string }> {
    const rows = this.stmt('SELECT * FROM leases WHERE expires_at > ? ORDER BY owner, session_id').all(now) as Row[];
    return rows.map((r) => ({ sessionId: String(r.session_id), ...toLease(r) }));
  }

  lease(sessionId: string): Lease | null {
    const row = this.stmt('SELECT * FROM leases WHERE session_id = ?').get(sessionId) as Row | undefined;
    return row ? toLease(row) : null;
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
    return Number(this.stmt('PRAGMA data_version').pluck().get());
  }
}

function ownerIsGone(row: Row): boolean {
  if (row.hostname !== hostname()) return false;
  const pid = Number(row.pid);
  return pid !== process.pid && !processAlive(pid);
}
