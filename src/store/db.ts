// Opens the SQLite store (WAL, so readers in other processes never block the engine) and migrates it.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

export function openDb(path: string): Db {
  if (path !== ':memory:') createPrivately(path);
  const db = new Database(path);
  // Another process (CLI, agent, engine) may hold the lock briefly, even while the store is
  // first created: wait for it rather than fail, before anything else touches the file.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS);
  return db;
}

/**
 * Webhook URLs in the store may carry credentials: its directory is 0700 and its file 0600 (SQLite
 * gives the -wal and -shm files the database file's mode).
 */
function createPrivately(path: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
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
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(`the store was written by a newer maintctl (schema ${current}, this one knows ${latest}); upgrade maintctl`);
    }
    for (const m of migrations) if (m.version > current) apply(m);
  }).immediate();
}
