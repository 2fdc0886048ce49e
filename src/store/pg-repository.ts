// The Repository on a shared PostgreSQL database, for several `serve` replicas. Loaded only when a
// postgres:// store is opened (open-repository.ts imports it dynamically), so the CLI's cold start
// never pays for the pg client.
//
// How replicas stay out of each other's way:
// - every transaction that writes a session's rows or events first takes one advisory lock
//   (WRITE_LOCK): writers are serialised as SQLite's are, so event ids become visible in order (a
//   reader following "events after id N" never skips one committed late) and no two writers can
//   deadlock on rows taken in different orders;
// - a runner's commit reads its lease row FOR SHARE before writing: a takeover (an UPDATE of that
//   row) waits for the commit, and every commit after the takeover sees the new epoch and fails;
// - what other replicas must hear about (a reply, a new or continued session, a released lease,
//   a request) is announced with NOTIFY in the writing transaction, so it is heard at its commit.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import pg, { type Client, type Pool } from 'pg';
import type { Host, Session, SessionEvent } from '../domain/model.js';
import type { GroupConstraint, InstanceConstraint } from '../domain/constraints.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import type { Cluster, ClusterOperation, NewNotification, Release } from '../domain/releases.js';
import { appendEvent, type Db } from './pg-db.js';
import * as rel from './pg-releases.js';
import type { NotificationFilter } from './releases.js';
import { PG_MIGRATIONS } from './pg-migrations.js';
import type { Migration } from './migrations.js';
import { PLUGIN_RUN_COLUMNS, TAIL_CHARS, toRun, type NewPluginRun, type PluginRunFilter, type PluginRunUpdate } from './plugin-runs.js';
import { HostsClaimedError, LeaseLostError, type Fence, type ProjectRows, type ReplyRecord, type Repository, type Write } from './repository.js';
import { flag, json, parse, toAction, toEvent, toHost, toInstance, toLease, toOperation, toProject, toSession, type Row } from './rows.js';
import { AMBIGUOUS_SHOWN, SESSION_COUNTS_SQL, pickSessionId, toSessionCount, type ChangeSet, type HostClaim, type Lease, type NewEvent, type SessionCount, type SessionRows } from './store.js';
import { matchesFilter, toDelivery, toSubscription, type DeliveryOutcome, type NewSubscription, type SubscriptionFilter } from './subscriptions.js';

/** Advisory lock keys (any constants, distinct from each other). */
const MIGRATION_LOCK = 4_179_001;
const WRITE_LOCK = 4_179_002;
/** The channel replicas announce their writes on. */
const CHANNEL = 'maintctl_changes';

const SAME_QUESTION =
  'projects.state IS NOT DISTINCT FROM excluded.state AND projects.visit = excluded.visit AND projects.wave IS NOT DISTINCT FROM excluded.wave';

export interface PgOptions {
  /** Connections in the pool (besides the one that listens). */
  poolSize?: number;
  /**
   * How long the server lets a transaction wait on this replica (idle_in_transaction_session_timeout).
   * A replica paused in the middle of one (SIGSTOP, a VM frozen) holds the write lock and its
   * lease row: past this the server ends the transaction and the others can go on. The lease time
   * is right: the others wait that long anyway before taking a session over.
   */
  idleInTransactionMs?: number;
}

export class PgRepository implements Repository {
  /** Tells this repository's own announcements from other replicas'. */
  private readonly tag = randomUUID();
  private changes = 0;
  private listener: Client | null = null;
  private closed = false;
  private readonly changeListeners = new Set<() => void>();

  private constructor(
    private readonly pool: Pool,
    private readonly url: string,
  ) {}

  /** Connects, migrates the schema (once, whichever replica gets there first) and starts listening. */
  static async open(url: string, options: PgOptions = {}): Promise<PgRepository> {
    const idle = options.idleInTransactionMs;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 8,
      application_name: 'maintctl',
      ...(idle ? { options: `-c idle_in_transaction_session_timeout=${Math.ceil(idle)}` } : {}),
    });
    // A connection dropped while idle (the server restarted) is replaced at the next query.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, PG_MIGRATIONS);
      const repo = new PgRepository(pool, url);
      await repo.listen();
      return repo;
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  /** Calls `listener` whenever another replica announced a write (it may be called more often). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    this.changes++;
    for (const l of this.changeListeners) l();
  }

  /**
   * LISTENs on its own connection; when that connection is lost it is made again, and the token
   * changes (what was announced meanwhile was not heard: everyone looks again).
   */
  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'maintctl-listen' });
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = null;
      // Closed meanwhile: no new connection (it would keep the process from exiting).
      if (!this.closed) setTimeout(() => void (this.closed ? undefined : this.listen().catch(lost)), 1000).unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      if (n.payload !== this.tag) this.changed();
    });
    this.listener = client;
    await client.connect();
    if (this.closed) return void (await client.end().catch(() => undefined));
    await client.query(`LISTEN ${CHANNEL}`);
    this.changed();
  }

  /** One transaction on one connection; rolled back when fn throws. */
  private async tx<T>(fn: (db: Db) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // The server may end the connection between two queries (idle_in_transaction_session_timeout,
    // a restart): that is an 'error' event, which must not end the process; the next query fails.
    const lost = (err: Error) => (broken = err);
    client.on('error', lost);
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  /** A transaction that writes a session's rows or events (serialised: see the top of the file). */
  private writeTx<T>(fn: (db: Db) => Promise<T>, announce: boolean): Promise<T> {
    return this.tx(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const result = await fn(db);
      if (announce) await db.query('SELECT pg_notify($1, $2)', [CHANNEL, this.tag]);
      return result;
    });
  }

  private async write(db: Db, sessionId: string, write: Write, now: number): Promise<SessionEvent[]> {
    await applyChanges(db, sessionId, write.changes);
    const events: SessionEvent[] = [];
    for (const e of write.events) events.push(await appendEvent(db, sessionId, now, e));
    // A host's release and its cluster's status change with the host's or session's own rows.
    return [...events, ...(await rel.recordProgress(db, sessionId, write.changes, now))];
  }

  // ---- sessions

  async createSession(session: Session, hosts: Host[], infrastructure: string, events: NewEvent[], now: number, operation?: ClusterOperation) {
    return this.writeTx(async (db) => {
      await insertSession(db, session);
      const started = operation ? await rel.startOperation(db, operation, hosts.map((h) => h.name), now) : [];
      const held = await claimHosts(db, infrastructure, hosts.map((h) => h.name), session.id);
      if (held.length) throw new HostsClaimedError(held);
      return [...(await this.write(db, session.id, { changes: { hosts }, events }, now)), ...started];
    }, true);
  }

  async findSession(id: string) {
    return findSession(this.pool, id);
  }

  async loadSession(id: string) {
    // One snapshot for every table, as one SQLite read gives: a write in between must not show in some rows only.
    return this.tx((db) => loadRows(db, id), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async activeSessionIds() {
    const { rows } = await this.pool.query(
      "SELECT id FROM sessions WHERE state NOT IN ('MAINTENANCE_DONE', 'MAINTENANCE_FAILED') ORDER BY created_at, id",
    );
    return rows.map((r) => String(r.id));
  }

  async deleteSession(id: string, now: number): Promise<SessionEvent[]> {
    return this.writeTx(async (db) => {
      await db.query('DELETE FROM sessions WHERE id = $1', [id]);
      await db.query('DELETE FROM leases WHERE session_id = $1', [id]);
      return rel.recordDeletion(db, id, now);
    }, true);
  }

  // ---- releases and clusters (written under the write lock: a session's start reads its cluster there)

  async cluster(name: string) {
    return rel.findCluster(this.pool, name);
  }

  async clusters() {
    return rel.listClusters(this.pool);
  }

  async createCluster(cluster: Cluster) {
    await this.writeTx((db) => rel.createCluster(db, cluster), false);
  }

  async release(name: string) {
    return rel.findRelease(this.pool, name);
  }

  async releases(): Promise<Release[]> {
    return rel.listReleases(this.pool);
  }

  async addRelease(release: Release) {
    await this.writeTx((db) => rel.insertRelease(db, release), false);
  }

  async removeRelease(name: string) {
    return this.writeTx((db) => rel.removeRelease(db, name), false);
  }

  async notifications(filter?: NotificationFilter) {
    return rel.listNotifications(this.pool, filter);
  }

  async clusterOperation(sessionId: string): Promise<ClusterOperation | null> {
    return rel.findOperation(this.pool, sessionId);
  }

  async pendingAutoRollbacks(): Promise<string[]> {
    return rel.pendingAutoRollbacks(this.pool);
  }

  async settleCluster(cluster: Cluster, notice: NewNotification, now: number): Promise<SessionEvent[]> {
    return this.writeTx(async (db) => {
      await rel.writeCluster(db, cluster);
      return [await rel.addNotification(db, notice, now)];
    }, false);
  }

  // ---- application constraints

  async constraintsOf(projectIds: readonly string[]) {
    return rel.constraintsOf(this.pool, projectIds);
  }

  async listConstraints(projectId?: string) {
    return rel.listConstraints(this.pool, projectId);
  }

  async instanceGroup(groupId: string) {
    return rel.findGroup(this.pool, groupId);
  }

  async instanceConstraint(instanceId: string) {
    return rel.findInstance(this.pool, instanceId);
  }

  async putInstanceGroup(group: GroupConstraint, now: number) {
    return rel.putGroup(this.pool, group, now);
  }

  async putInstanceConstraint(row: InstanceConstraint, now: number) {
    return rel.putInstance(this.pool, row, now);
  }

  async deleteInstanceGroup(groupId: string) {
    return rel.deleteGroup(this.pool, groupId);
  }

  async deleteInstanceConstraint(instanceId: string) {
    return rel.deleteInstance(this.pool, instanceId);
  }

  async commit(sessionId: string, fence: Fence, write: Write, now: number) {
    return this.writeTx(async (db) => {
      const { rows } = await db.query('SELECT owner, epoch FROM leases WHERE session_id = $1 FOR SHARE', [sessionId]);
      const lease = rows[0];
      if (!lease || lease.owner !== fence.owner || Number(lease.epoch) !== fence.epoch) throw new LeaseLostError(sessionId);
      if (write.changes.session?.state === 'MAINTENANCE_DONE') await db.query('DELETE FROM host_claims WHERE session_id = $1', [sessionId]);
      return this.write(db, sessionId, write, now);
    }, false);
  }

  async updateProject(sessionId: string, projectId: string, decide: (rows: ProjectRows) => Write, now: number) {
    return this.writeTx(async (db) => {
      const session = await findSession(db, sessionId);
      if (!session) throw new NotFoundError(`no session ${sessionId}`);
      const { rows } = await db.query('SELECT * FROM projects WHERE session_id = $1 AND project_id = $2', [sessionId, projectId]);
      const project = rows[0] ? toProject(rows[0]) : null;
      const instances = project ? await questionInstances(db, sessionId, project.projectId, project.wave) : [];
      return this.write(db, sessionId, decide({ session, project, instances }), now);
    }, true);
  }

  async updateSession(sessionId: string, decide: (rows: SessionRows) => Write, now: number) {
    return this.writeTx(async (db) => {
      const rows = await loadRows(db, sessionId);
      if (!rows) throw new NotFoundError(`no session ${sessionId}`);
      return this.write(db, sessionId, decide(rows), now);
    }, true);
  }

  async record(sessionId: string, write: Write, now: number) {
    return this.writeTx((db) => this.write(db, sessionId, write, now), true);
  }

  async repliesSince(sessionId: string, afterId: number): Promise<ReplyRecord[]> {
    const { rows } = await this.pool.query('SELECT * FROM replies WHERE session_id = $1 AND id > $2 ORDER BY id', [sessionId, afterId]);
    return rows.map((r) => ({
      id: Number(r.id),
      projectId: String(r.project_id),
      state: String(r.state),
      instanceActions: parse<Record<string, string>>(r.instance_actions),
      receivedAt: Number(r.received_at),
    }));
  }

  async latestReplyId(sessionId: string) {
    const { rows } = await this.pool.query('SELECT COALESCE(MAX(id), 0) AS id FROM replies WHERE session_id = $1', [sessionId]);
    return Number(rows[0]!.id);
  }

  async releaseClaims(sessionId: string) {
    await this.pool.query('DELETE FROM host_claims WHERE session_id = $1', [sessionId]);
  }

  async isSubscribed(projectId: string, sessionId: string) {
    const { rows } = await this.pool.query(
      `SELECT 1 FROM subscriptions WHERE project_id = $1 AND event_type IN ('maintenance.planned', 'maintenance.scheduled')
       AND (session_id IS NULL OR session_id = $2) LIMIT 1`,
      [projectId, sessionId],
    );
    return rows.length > 0;
  }

  // ---- leases

  /**
   * Takes or renews the lease in one statement: the row is taken when it is ours, free or
   * expired; another owner's valid lease is left alone (no row comes back). A change of owner is
   * a new epoch. Unlike the embedded store, a dead owner is only known by its lease running out:
   * replicas on other machines cannot look at each other's processes.
   */
  async acquireLease(sessionId: string, owner: string, now: number, ttlMs: number) {
    const { rows } = await this.pool.query(
      `INSERT INTO leases (session_id, owner, hostname, pid, expires_at, epoch) VALUES ($1, $2, $3, $4, $5, 1)
       ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, hostname = excluded.hostname, pid = excluded.pid,
         expires_at = excluded.expires_at, epoch = CASE WHEN leases.owner = excluded.owner THEN leases.epoch ELSE leases.epoch + 1 END
       WHERE leases.owner = excluded.owner OR leases.expires_at <= $6
       RETURNING epoch`,
      [sessionId, owner, hostname(), process.pid, now + ttlMs, now],
    );
    return rows[0] ? Number(rows[0].epoch) : null;
  }

  /**
   * Gives the lease up, keeping its row (owner '' and expired): the next owner, even this one
   * again, gets a new epoch, so a runner of the old one can never write.
   */
  async releaseLease(sessionId: string, owner: string) {
    await this.tx(async (db) => {
      await db.query("UPDATE leases SET owner = '', expires_at = 0 WHERE session_id = $1 AND owner = $2", [sessionId, owner]);
      await db.query('SELECT pg_notify($1, $2)', [CHANNEL, this.tag]);
    });
  }

  async leaseHeld(sessionId: string, now: number) {
    const lease = await this.lease(sessionId);
    return lease !== null && lease.expiresAt > now;
  }

  async lease(sessionId: string): Promise<Lease | null> {
    const { rows } = await this.pool.query("SELECT * FROM leases WHERE session_id = $1 AND owner <> ''", [sessionId]);
    return rows[0] ? toLease(rows[0]) : null;
  }

  async heldLeases(now: number) {
    const { rows } = await this.pool.query("SELECT * FROM leases WHERE owner <> '' AND expires_at > $1 ORDER BY owner, session_id", [now]);
    return rows.map((r) => ({ sessionId: String(r.session_id), ...toLease(r) }));
  }

  // ---- other processes

  /** Counts announcements heard from other replicas (LISTEN): no query is made. */
  async changeToken() {
    return this.changes;
  }

  async pendingRequests() {
    const { rows } = await this.pool.query('SELECT * FROM requests WHERE done_at IS NULL ORDER BY id');
    return rows.map((r) => ({ id: Number(r.id), sessionId: String(r.session_id), kind: String(r.kind), params: parse<Record<string, unknown>>(r.params) }));
  }

  async finishRequest(id: number, result: object, now: number) {
    await this.tx(async (db) => {
      await db.query('UPDATE requests SET done_at = $1, result = $2 WHERE id = $3', [now, json(result), id]);
      await db.query('SELECT pg_notify($1, $2)', [CHANNEL, this.tag]);
    });
  }

  // ---- plug-in runs

  async startPluginRun(run: NewPluginRun) {
    const { rows } = await this.pool.query(
      `INSERT INTO plugin_runs (session_id, key, attempt, host, plugin, type, status, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'running', $7) RETURNING id`,
      [run.sessionId, run.key, run.attempt, run.host, run.plugin, run.type, run.startedAt],
    );
    return Number(rows[0]!.id);
  }

  async updatePluginRun(id: number, update: PluginRunUpdate) {
    const keys = (Object.keys(update) as Array<keyof PluginRunUpdate>).filter((k) => update[k] !== undefined);
    if (!keys.length) return;
    const sets = keys.map((k, i) => `${PLUGIN_RUN_COLUMNS[k]} = $${i + 1}`).join(', ');
    await this.pool.query(`UPDATE plugin_runs SET ${sets} WHERE id = $${keys.length + 1}`, [...keys.map((k) => update[k] ?? null), id]);
  }

  async pluginRuns(sessionId: string, filter: PluginRunFilter = {}) {
    const { rows } = await this.pool.query(
      `SELECT * FROM plugin_runs WHERE session_id = $1 AND ($2::text IS NULL OR host = $2) AND ($3::text IS NULL OR plugin = $3)
         AND ($4::text IS NULL OR key = $4) AND id > $5 ORDER BY id`,
      [sessionId, filter.host ?? null, filter.plugin ?? null, filter.key ?? null, filter.afterId ?? 0],
    );
    return rows.map(toRun);
  }

  // ---- events and the outbox

  async events(sessionId: string | null, afterId = 0) {
    const { rows } =
      sessionId === null
        ? await this.pool.query('SELECT * FROM events WHERE id > $1 ORDER BY id', [afterId])
        : await this.pool.query('SELECT * FROM events WHERE session_id = $1 AND id > $2 ORDER BY id', [sessionId, afterId]);
    return rows.map(toEvent);
  }

  /** A head of line claimed by a replica is due again only when that claim runs out. */
  async nextDeliveryAt(exceptSubscriptions: number[] = []) {
    const { rows } = await this.pool.query(
      `SELECT MIN(GREATEST(d.next_attempt_at, COALESCE(d.claimed_until, 0))) AS t FROM deliveries d
       WHERE d.status = 'pending' AND d.subscription_id <> ALL($1::bigint[])
         AND d.id = (SELECT MIN(id) FROM deliveries e WHERE e.subscription_id = d.subscription_id AND e.status = 'pending')`,
      [exceptSubscriptions],
    );
    return rows[0]!.t === null ? null : Number(rows[0]!.t);
  }

  /**
   * Each due head of line is claimed by one replica: rows another is claiming right now are
   * skipped (SKIP LOCKED), and a claim keeps the others off until it runs out (the claimant died
   * mid-attempt: another tries again then).
   */
  async claimDeliveries(owner: string, now: number, claimMs: number, exceptSubscriptions: number[]) {
    const { rows } = await this.pool.query(
      `UPDATE deliveries SET claimed_by = $1, claimed_until = $3 WHERE id IN (
         SELECT d.id FROM deliveries d
         WHERE d.status = 'pending' AND d.next_attempt_at <= $2 AND COALESCE(d.claimed_until, 0) <= $2
           AND d.subscription_id <> ALL($4::bigint[])
           AND d.id = (SELECT MIN(id) FROM deliveries e WHERE e.subscription_id = d.subscription_id AND e.status = 'pending')
         ORDER BY d.id LIMIT 64 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [owner, now, now + claimMs, exceptSubscriptions],
    );
    return rows.map(toDelivery).sort((a, b) => a.id - b.id);
  }

  async recordDelivery(id: number, owner: string, outcome: DeliveryOutcome) {
    await this.pool.query(
      `UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4, delivered_at = $5, claimed_by = NULL, claimed_until = NULL
       WHERE id = $6 AND status = 'pending' AND claimed_by = $7`,
      [outcome.status, outcome.attempts, outcome.nextAttemptAt, outcome.error, outcome.deliveredAt, id, owner],
    );
  }

  async findSubscription(id: number) {
    const { rows } = await this.pool.query('SELECT * FROM subscriptions WHERE id = $1', [id]);
    return rows[0] ? toSubscription(rows[0]) : null;
  }

  async event(id: number) {
    const { rows } = await this.pool.query('SELECT * FROM events WHERE id = $1', [id]);
    return rows[0] ? toEvent(rows[0]) : null;
  }

  async latestEventId() {
    const { rows } = await this.pool.query('SELECT COALESCE(MAX(id), 0) AS id FROM events');
    return Number(rows[0]!.id);
  }

  // ---- what the views read

  async resolveSessionId(idOrPrefix: string) {
    if (!idOrPrefix) throw new InvalidInputError('a session id (or a prefix of one) is needed');
    const prefix = idOrPrefix.toLowerCase();
    const { rows } = await this.pool.query('SELECT id FROM sessions WHERE lower(substr(id, 1, $1)) = $2 ORDER BY id LIMIT $3', [
      prefix.length, prefix, AMBIGUOUS_SHOWN + 1,
    ]);
    return pickSessionId(idOrPrefix, rows.map((r) => String(r.id)));
  }

  async sessionCounts(): Promise<SessionCount[]> {
    return (await this.pool.query(SESSION_COUNTS_SQL)).rows.map(toSessionCount);
  }

  async pluginRunTails(sessionId: string) {
    const { rows } = await this.pool.query(
      `SELECT id, session_id, key, attempt, host, plugin, type, status, exit_status, cause, right(output, ${TAIL_CHARS}) AS output,
         output_chars, started_at, ended_at FROM plugin_runs WHERE session_id = $1 ORDER BY id`,
      [sessionId],
    );
    return rows.map(toRun);
  }

  async sessionDeliveries(sessionId: string) {
    const { rows } = await this.pool.query('SELECT * FROM deliveries WHERE session_id = $1 ORDER BY id', [sessionId]);
    return rows.map(toDelivery);
  }

  // ---- subscriptions

  async subscribe(sub: NewSubscription, now: number) {
    return this.tx(async (db) => {
      // One at a time, so two replicas subscribing the same URL at once make one row.
      await db.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const { rows } = await db.query(
        `SELECT * FROM subscriptions WHERE project_id = $1 AND event_type = $2 AND url IS NOT DISTINCT FROM $3 AND session_id IS NOT DISTINCT FROM $4`,
        [sub.projectId, sub.eventType, sub.url, sub.sessionId],
      );
      const allowedHost = sub.allowedHost ?? null;
      if (rows[0]) {
        if (rows[0].format !== sub.format || rows[0].allowed_host !== allowedHost) {
          await db.query('UPDATE subscriptions SET format = $1, allowed_host = $2 WHERE id = $3', [sub.format, allowedHost, rows[0].id]);
        }
        return toSubscription({ ...rows[0], format: sub.format, allowed_host: allowedHost });
      }
      const inserted = await db.query(
        'INSERT INTO subscriptions (project_id, event_type, url, format, session_id, created_at, allowed_host) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
        [sub.projectId, sub.eventType, sub.url, sub.format, sub.sessionId, now, allowedHost],
      );
      return toSubscription(inserted.rows[0]!);
    });
  }

  async unsubscribe(projectId: string, filter: SubscriptionFilter) {
    return this.tx(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const { rows } = await db.query('SELECT * FROM subscriptions WHERE project_id = $1 ORDER BY id', [projectId]);
      const ids = rows.map(toSubscription).filter((s) => matchesFilter(s, filter)).map((s) => s.id);
      await db.query("UPDATE deliveries SET status = 'cancelled' WHERE subscription_id = ANY($1::bigint[]) AND status = 'pending'", [ids]);
      await db.query('DELETE FROM subscriptions WHERE id = ANY($1::bigint[])', [ids]);
      return ids.length;
    });
  }

  async listSubscriptions(projectId?: string) {
    const { rows } = projectId
      ? await this.pool.query('SELECT * FROM subscriptions WHERE project_id = $1 ORDER BY id', [projectId])
      : await this.pool.query('SELECT * FROM subscriptions ORDER BY project_id, id');
    return rows.map(toSubscription);
  }
}

/** Applies the migrations not yet applied, under an advisory lock: replicas starting together apply each once. */
async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const { rows } = await client.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
      const current = Number(rows[0]!.v);
      const latest = migrations.at(-1)?.version ?? 0;
      if (current > latest) {
        throw new Error(`the store was written by a newer maintctl (schema ${current}, this one knows ${latest}); upgrade maintctl`);
      }
      for (const m of migrations.filter((x) => x.version > current)) {
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

// ---- reading rows

async function findSession(db: Db, id: string): Promise<Session | null> {
  const { rows } = await db.query('SELECT * FROM sessions WHERE id = $1', [id]);
  if (!rows[0]) return null;
  const actions = await db.query('SELECT * FROM action_plugins WHERE session_id = $1 ORDER BY seq', [id]);
  return toSession(rows[0], actions.rows.map(toAction));
}

async function loadRows(db: Db, sessionId: string): Promise<SessionRows | null> {
  const session = await findSession(db, sessionId);
  if (!session) return null;
  // One after the other: db is often one transaction's connection, which runs one query at a time.
  const hosts = await db.query('SELECT * FROM hosts WHERE session_id = $1 ORDER BY name', [sessionId]);
  const projects = await db.query('SELECT * FROM projects WHERE session_id = $1 ORDER BY project_id', [sessionId]);
  const instances = await db.query('SELECT * FROM instances WHERE session_id = $1 ORDER BY instance_id', [sessionId]);
  const operations = await db.query(
    `SELECT * FROM operations WHERE session_id = $1 AND (status IN ('started', 'requested')
       OR key LIKE 'pre:%' OR key LIKE 'post:%' OR key = 'download'
       OR (key LIKE 'host:%' AND target IN (SELECT name FROM hosts WHERE session_id = $1 AND state IN ('IN_MAINTENANCE', 'FAILED')))) ORDER BY id`,
    [sessionId],
  );
  return {
    session,
    hosts: hosts.rows.map(toHost),
    projects: projects.rows.map(toProject),
    instances: instances.rows.map(toInstance),
    operations: operations.rows.map(toOperation),
  };
}

/** A project's instances a question is about: those of its wave, or all of them for a session-wide one. */
async function questionInstances(db: Db, sessionId: string, projectId: string, wave: number | null) {
  const { rows } =
    wave === null
      ? await db.query('SELECT * FROM instances WHERE session_id = $1 AND project_id = $2 ORDER BY instance_id', [sessionId, projectId])
      : await db.query('SELECT * FROM instances WHERE session_id = $1 AND project_id = $2 AND wave = $3 ORDER BY instance_id', [sessionId, projectId, wave]);
  return rows.map(toInstance);
}

// ---- writing rows (inside writeTx)

async function insertSession(db: Db, s: Session): Promise<void> {
  await writeSession(db, s);
  for (const [seq, a] of s.actions.entries()) {
    await db.query('INSERT INTO action_plugins (session_id, seq, plugin, type, metadata, position) VALUES ($1, $2, $3, $4, $5, $6)', [
      s.id, seq, a.plugin, a.type, json(a.metadata), a.order ?? null,
    ]);
  }
}

async function writeSession(db: Db, s: Session): Promise<void> {
  await db.query(
    `INSERT INTO sessions (id, state, workflow, maintenance_at, metadata, options, driver, download, created_at,
      updated_at, state_entered_at, visit, attempt, failure, failed_state, discovered, synced_at, data, plugin_dirs)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, maintenance_at = excluded.maintenance_at,
       metadata = excluded.metadata, options = excluded.options, updated_at = excluded.updated_at,
       state_entered_at = excluded.state_entered_at, visit = excluded.visit, attempt = excluded.attempt,
       failure = excluded.failure, failed_state = excluded.failed_state, discovered = excluded.discovered,
       synced_at = excluded.synced_at, data = excluded.data`,
    [
      s.id, s.state, s.workflow, s.maintenanceAt, json(s.metadata), json(s.options), json(s.driver), json(s.download),
      s.createdAt, s.updatedAt, s.stateEnteredAt, s.visit, s.attempt, s.failure, s.failedState, flag(s.discovered),
      s.syncedAt, json(s.data), json(s.pluginDirs),
    ],
  );
}

async function applyChanges(db: Db, sessionId: string, changes: ChangeSet): Promise<void> {
  if (changes.session) await writeSession(db, changes.session);
  for (const h of changes.hosts ?? []) {
    await db.query(
      `INSERT INTO hosts (session_id, name, type, vcpus, vcpus_used, memory_mb, memory_mb_used, state, wave, step, cause, since, disabled, disabled_before)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (session_id, name) DO UPDATE SET type = excluded.type, vcpus = excluded.vcpus, vcpus_used = excluded.vcpus_used,
         memory_mb = excluded.memory_mb, memory_mb_used = excluded.memory_mb_used, state = excluded.state, wave = excluded.wave,
         step = excluded.step, cause = excluded.cause, since = excluded.since, disabled = excluded.disabled, disabled_before = excluded.disabled_before`,
      [sessionId, h.name, h.type, h.vcpus, h.vcpusUsed, h.memoryMb, h.memoryMbUsed, h.state, h.wave, h.step, h.cause, h.since, flag(h.disabled), flag(h.disabledBefore)],
    );
  }
  // As in the embedded store: an answer recorded since the runner read its copy is never erased by it.
  for (const p of changes.projects ?? []) {
    await db.query(
      `INSERT INTO projects (session_id, project_id, policy, state, visit, wave, reply_state, reply_at, replied_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (session_id, project_id) DO UPDATE SET policy = excluded.policy, state = excluded.state,
         visit = excluded.visit, wave = excluded.wave, reply_at = excluded.reply_at,
         reply_state = CASE WHEN ${SAME_QUESTION} THEN COALESCE(excluded.reply_state, projects.reply_state) ELSE excluded.reply_state END,
         replied_at = CASE WHEN ${SAME_QUESTION} THEN COALESCE(excluded.replied_at, projects.replied_at) ELSE excluded.replied_at END`,
      [sessionId, p.projectId, p.policy, p.state, p.visit, p.wave, p.replyState, p.replyAt, p.repliedAt],
    );
  }
  if (changes.removedInstances?.length) {
    await db.query('DELETE FROM instances WHERE session_id = $1 AND instance_id = ANY($2::text[])', [sessionId, changes.removedInstances]);
  }
  for (const i of changes.instances ?? []) {
    await db.query(
      `INSERT INTO instances (session_id, instance_id, name, project_id, host, vcpus, memory_mb, floating_ip, wave,
         target, action, action_done, project_state, replaced_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (session_id, instance_id) DO UPDATE SET name = excluded.name, host = excluded.host, vcpus = excluded.vcpus,
         memory_mb = excluded.memory_mb, floating_ip = excluded.floating_ip, wave = excluded.wave, target = excluded.target,
         action_done = excluded.action_done, project_state = excluded.project_state, replaced_id = excluded.replaced_id,
         action = CASE WHEN excluded.action IS NULL AND instances.wave IS NOT DISTINCT FROM excluded.wave
           AND instances.project_state IS NOT DISTINCT FROM excluded.project_state
           AND instances.action_done = excluded.action_done THEN instances.action ELSE excluded.action END`,
      [sessionId, i.instanceId, i.name, i.projectId, i.host, i.vcpus, i.memoryMb, flag(i.floatingIp), i.wave, i.target, i.action, flag(i.actionDone), i.projectState, i.replacedId],
    );
  }
  for (const op of changes.operations ?? []) {
    const { rows } = await db.query(
      `INSERT INTO operations (session_id, kind, target, key, attempt, params, status, check_at, deadline, cause, result, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (session_id, key, attempt) DO UPDATE SET status = excluded.status, check_at = excluded.check_at,
         deadline = excluded.deadline, cause = excluded.cause, result = excluded.result, updated_at = excluded.updated_at
       RETURNING id`,
      [op.sessionId, op.kind, op.target, op.key, op.attempt, json(op.params), op.status, op.checkAt, op.deadline, op.cause, json(op.result), op.createdAt, op.updatedAt],
    );
    op.id = Number(rows[0]!.id);
  }
  for (const r of changes.replies ?? []) {
    await db.query('INSERT INTO replies (session_id, project_id, state, instance_actions, received_at) VALUES ($1, $2, $3, $4, $5)', [
      sessionId, r.projectId, r.state, json(r.instanceActions), r.receivedAt,
    ]);
  }
}

/** Claims the hosts for the session; returns those another session holds (the caller then rolls back). */
async function claimHosts(db: Db, infrastructure: string, hosts: readonly string[], sessionId: string): Promise<HostClaim[]> {
  // In name order, so that two sessions claiming overlapping hosts wait for each other rather than deadlock.
  for (const host of [...hosts].sort()) {
    await db.query('INSERT INTO host_claims (infrastructure, host, session_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [infrastructure, host, sessionId]);
  }
  const { rows } = await db.query('SELECT host, session_id FROM host_claims WHERE infrastructure = $1 AND host = ANY($2::text[]) AND session_id <> $3', [
    infrastructure, [...hosts], sessionId,
  ]);
  const holder = new Map(rows.map((r) => [String(r.host), String(r.session_id)]));
  return hosts.filter((h) => holder.has(h)).map((host) => ({ host, sessionId: holder.get(host)! }));
}
