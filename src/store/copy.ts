// Copies everything one store holds into another (`maintctl store copy`): a state directory's
// SQLite into a shared PostgreSQL, or back. Both schemas have the same tables and columns
// (pg-migrations.ts), so rows are copied table by table, column by column; ids a database gives
// (events, replies, notifications...) are given again by the target, and what refers to them
// (a delivery's event, a notification event's payload) is rewritten to the new ones.
// The whole copy is one transaction on the target: all of it is there, or nothing.
import { RefusedError } from '../domain/errors.js';
import { NOTIFICATION_EVENT } from './releases.js';
import { numbered } from './pg-db.js';
import type { Row } from './rows.js';
import type { Store } from './store.js';

/** Either database, as the copy uses it. SQL is written with `?` placeholders. */
export interface CopyEnd {
  /** Where it is, for messages (no password). */
  name: string;
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  columns(table: string): Promise<string[]>;
  /** Runs fn in one transaction (a consistent snapshot when only reading); rolled back when it throws. */
  tx<T>(fn: () => Promise<T>, readOnly?: boolean): Promise<T>;
  /** The engines or replicas that hold a lease on one of its sessions now. */
  liveRunners(now: number): Promise<string[]>;
  close(): Promise<void>;
}

interface Table {
  name: string;
  /** The columns naming a row: a row the target has already is refused, named by `what`. */
  key?: string[];
  what?: string;
  /** Its id is given by the database: the target gives a new one. */
  serial?: boolean;
  /** Columns holding ids of another copied table (rewritten to the target's). */
  refs?: Record<string, string>;
}

/** Every table a store keeps, parents first. Not copied: leases (the target's engines take their own), meta, the sim cloud (it stays in the state directory). */
const TABLES: Table[] = [
  { name: 'releases', key: ['name'], what: 'release' },
  { name: 'clusters', key: ['name'], what: 'cluster' },
  { name: 'cluster_hosts' },
  { name: 'sessions', key: ['id'], what: 'session' },
  { name: 'action_plugins' },
  { name: 'hosts' },
  { name: 'projects' },
  { name: 'instances' },
  { name: 'operations', serial: true },
  { name: 'replies', serial: true },
  { name: 'plugin_runs', serial: true },
  { name: 'requests', serial: true },
  { name: 'host_claims', key: ['infrastructure', 'host'], what: 'claimed host' },
  { name: 'cluster_operations', key: ['session_id'], what: 'cluster operation of session' },
  { name: 'notifications', serial: true },
  { name: 'subscriptions', serial: true },
  { name: 'events', serial: true },
  { name: 'deliveries', serial: true, refs: { event_id: 'events', subscription_id: 'subscriptions' } },
  { name: 'instance_groups', key: ['group_id'], what: 'instance group' },
  { name: 'instance_constraints', key: ['instance_id'], what: 'instance constraint' },
];

export interface CopyReport {
  sessions: string[];
  /** Rows copied, by table. */
  rows: Record<string, number>;
}

const keyOf = (row: Row, key: string[]) => key.map((k) => String(row[k])).join(' ');

/**
 * Copies every row of `from` into `to`. Refused (nothing written) while an engine runs on the
 * source, or when the target has one of the sessions, releases, clusters, claimed hosts or
 * constraints already (each named).
 */
export async function copyStore(from: CopyEnd, to: CopyEnd, now: number): Promise<CopyReport> {
  await refuseRunning(from, now);
  const data = await from.tx(async () => {
    const tables = new Map<string, { columns: string[]; rows: Row[] }>();
    for (const t of TABLES) {
      const rows = await from.query(`SELECT * FROM ${t.name}${t.serial ? ' ORDER BY id' : ''}`);
      tables.set(t.name, { columns: await from.columns(t.name), rows });
    }
    return tables;
  }, true);
  const sessions = data.get('sessions')!.rows.map((r) => String(r.id));
  const rows: Record<string, number> = {};
  await to.tx(async () => {
    await refuseTaken(to, data);
    const ids = new Map<string, Map<number, number>>();
    for (const t of TABLES) {
      const { columns, rows: source } = data.get(t.name)!;
      const target = new Set(await to.columns(t.name));
      const copied = columns.filter((c) => target.has(c) && !(t.serial && c === 'id'));
      const given = new Map<number, number>();
      ids.set(t.name, given);
      const insert = `INSERT INTO ${t.name} (${copied.join(', ')}) VALUES (${copied.map(() => '?').join(', ')})${t.serial ? ' RETURNING id' : ''}`;
      for (const row of source) {
        const values = copied.map((c) => valueFor(t, c, row, ids));
        const [back] = await to.query(insert, values);
        if (t.serial) given.set(Number(row.id), Number(back!.id));
      }
      rows[t.name] = source.length;
    }
  });
  return { sessions, rows };
}

/** Refuses a source an engine or replica runs sessions of now (its rows would change under the copy). */
export async function refuseRunning(from: CopyEnd, now: number): Promise<void> {
  const runners = await from.liveRunners(now);
  if (runners.length) {
    throw new RefusedError(`an engine runs on ${from.name} (${runners.join(', ')}): stop it first, so that nothing changes during the copy`);
  }
}

/** A column's value in the target: ids of copied rows are the target's, and a notification event names its new notification. */
function valueFor(t: Table, column: string, row: Row, ids: Map<string, Map<number, number>>): unknown {
  const refersTo = t.refs?.[column];
  if (refersTo) return ids.get(refersTo)!.get(Number(row[column])) ?? row[column];
  if (t.name === 'events' && column === 'payload' && row.event_type === NOTIFICATION_EVENT) {
    const payload = JSON.parse(String(row.payload)) as { id?: number };
    const id = payload.id === undefined ? undefined : ids.get('notifications')!.get(payload.id);
    return JSON.stringify(id === undefined ? payload : { ...payload, id });
  }
  return row[column];
}

/** Refuses a target that has any keyed row of the copy already, naming them all. */
async function refuseTaken(to: CopyEnd, data: Map<string, { rows: Row[] }>): Promise<void> {
  const taken: string[] = [];
  for (const t of TABLES) {
    if (!t.key) continue;
    const there = new Set((await to.query(`SELECT ${t.key.join(', ')} FROM ${t.name}`)).map((r) => keyOf(r, t.key!)));
    const named = data.get(t.name)!.rows.map((r) => keyOf(r, t.key!)).filter((k) => there.has(k));
    if (named.length) taken.push(`${t.what}${named.length > 1 ? 's' : ''} ${named.join(', ')}`);
  }
  if (taken.length) {
    throw new RefusedError(`${to.name} holds already: ${taken.join('; ')}: delete them there first, or copy into another store (nothing was copied)`);
  }
}

// ---- the two ends

/** The SQLite store of a state directory, on its Store's connection. */
export function sqliteEnd(store: Store, name: string, liveRunners: () => string[]): CopyEnd {
  const db = store.db;
  return {
    name,
    async query(sql, params = []) {
      const statement = db.prepare(sql);
      if (statement.reader) return statement.all(...params) as Row[];
      statement.run(...params);
      return [];
    },
    async columns(table) {
      return (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
    },
    async tx(fn, readOnly = false) {
      // Nothing else runs on this connection meanwhile: only this process's awaits come between.
      db.exec(readOnly ? 'BEGIN' : 'BEGIN IMMEDIATE');
      try {
        const result = await fn();
        db.exec('COMMIT');
        return result;
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    async liveRunners() {
      return liveRunners();
    },
    async close() {
      store.close();
    },
  };
}

/** A shared PostgreSQL on one connection (its schema made current by the caller). */
export async function postgresEnd(url: string, name: string): Promise<CopyEnd> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, application_name: 'maintctl-copy' });
  await client.connect();
  return {
    name,
    async query(sql, params = []) {
      return (await client.query(numbered(sql), params)).rows as Row[];
    },
    async columns(table) {
      const { rows } = await client.query(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position',
        [table],
      );
      return rows.map((r: Row) => String(r.column_name));
    },
    async tx(fn, readOnly = false) {
      await client.query(readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
      try {
        const result = await fn();
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    async liveRunners(now) {
      const { rows } = await client.query("SELECT DISTINCT owner, hostname, pid FROM leases WHERE owner <> '' AND expires_at > $1 ORDER BY owner", [now]);
      return rows.map((r: Row) => `replica ${String(r.owner)} on ${String(r.hostname)}, pid ${String(r.pid)}`);
    },
    async close() {
      await client.end();
    },
  };
}
