// Opens the SQLite store (WAL, so readers in other processes never block the engine) and migrates it.
// Only a store is opened: a missing one is created only when asked to, and a file that is not
// one of ours (empty, another program's database, not a database) is refused, naming it.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NotFoundError } from '../domain/errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** Create the store (and its directory) when missing; false for commands that only read. */
  create?: boolean;
}

export function openDb(path: string, options: OpenOptions = {}): Db {
  const create = options.create ?? true;
  if (path !== ':memory:') {
    if (create) createPrivately(path);
    else mustBeThere(path);
  }
  const db = new Database(path, { fileMustExist: !create });
  try {
    // Another process (CLI, agent, engine) may hold the lock briefly, even while the store is
    // first created: wait for it rather than fail, before anything else touches the file.
    db.pragma('busy_timeout = 5000');
    if (path !== ':memory:') mustBeOurs(db, path, create); // before anything is written to it
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_NOTADB') throw new Error(`${path} is not a maintctl store: it is not a database`);
    throw err;
  }
  return db;
}

/**
 * Webhook URLs in the store may carry credentials: its directory is 0700 and its file 0600 (SQLite
 * gives the -wal and -shm files the database file's mode).
 */
function createPrivately(path: string): void {
  const dir = dirname(path);
  makeDirs(dir);
  chmodSync(dir, 0o700);
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/**
 * mkdir -p that fails at once where it cannot create: Node's own recursive mkdir loops forever
 * under /proc. Each missing directory is made in turn, so the first one refused names itself.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function mustBeThere(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`no maintctl store at ${dirname(path)}: give the --state-dir the sessions were created in (session create makes a store)`);
    }
    throw err;
  }
  if (size === 0) throw new Error(`${path} is empty, not a maintctl store`);
}

/** A database with tables but none of ours is another program's: never migrate it into a store. */
function mustBeOurs(db: Db, path: string, create: boolean): void {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
  if (tables.includes('schema_migrations')) return;
  if (tables.length || !create) throw new Error(`${path} is not a maintctl store (a database without maintctl's tables)`);
}

export function schemaVersion(db: Db): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const apply = db.transaction((m: Migration) => {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
  });
  // IMMEDIATE: two processes opening a fresh store must not both apply version 1.
  db.transaction(() => {
    const current = schemaVersion(db);
    const latest = Math.max(0, ...migrations.map((m) => m.version));
    if (current > latest) {
      throw new Error(`the store was written by a newer maintctl (schema ${current}, this one knows ${latest}); upgrade maintctl`);
    }
    // Every version not applied yet, in order: one added on another branch below the newest applied still runs.
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) if (!applied.has(m.version)) apply(m);
  }).immediate();
}
