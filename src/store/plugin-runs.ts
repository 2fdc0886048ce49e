// The runs of action plug-ins and the last part of their output (`session logs`, `session show`).
// Written as a run goes, outside the runner's fenced batches: output is a record of what
// happened, not a decision, and losing the last chunk of it on a crash costs nothing.
import type { Store } from './store.js';

type Row = Record<string, unknown>;

export type PluginRunStatus = 'running' | 'done' | 'failed';

export interface PluginRun {
  id: number;
  sessionId: string;
  /** The operation's key (pre:0, host:compute-1:2, post:0). */
  key: string;
  attempt: number;
  /** null for pre and post plug-ins. */
  host: string | null;
  plugin: string;
  type: string;
  status: PluginRunStatus;
  exitStatus: number | null;
  cause: string | null;
  /** The last part of stdout and stderr, interleaved as they came. */
  output: string;
  /** Characters the run wrote in all (more than `output` holds once it was cut). */
  outputChars: number;
  startedAt: number;
  endedAt: number | null;
}

export type NewPluginRun = Pick<PluginRun, 'sessionId' | 'key' | 'attempt' | 'host' | 'plugin' | 'type' | 'startedAt'>;
export type PluginRunUpdate = Partial<Pick<PluginRun, 'status' | 'exitStatus' | 'cause' | 'output' | 'outputChars' | 'endedAt'>>;

export interface PluginRunFilter {
  host?: string;
  plugin?: string;
  /** Only the runs of this step (operation key). */
  key?: string;
  /** Only runs with a row id above this one. */
  afterId?: number;
}

export const toRun = (r: Row): PluginRun => ({
  id: Number(r.id),
  sessionId: String(r.session_id),
  key: String(r.key),
  attempt: Number(r.attempt),
  host: (r.host as string | null) ?? null,
  plugin: String(r.plugin),
  type: String(r.type),
  status: r.status as PluginRunStatus,
  exitStatus: r.exit_status === null ? null : Number(r.exit_status),
  cause: (r.cause as string | null) ?? null,
  output: String(r.output),
  outputChars: Number(r.output_chars),
  startedAt: Number(r.started_at),
  endedAt: r.ended_at === null ? null : Number(r.ended_at),
});

export function insertPluginRun(store: Store, run: NewPluginRun): number {
  const info = store
    .statement(
      `INSERT INTO plugin_runs (session_id, key, attempt, host, plugin, type, status, started_at)
       VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`,
    )
    .run(run.sessionId, run.key, run.attempt, run.host, run.plugin, run.type, run.startedAt);
  return Number(info.lastInsertRowid);
}

export const PLUGIN_RUN_COLUMNS: Record<keyof PluginRunUpdate, string> = {
  status: 'status',
  exitStatus: 'exit_status',
  cause: 'cause',
  output: 'output',
  outputChars: 'output_chars',
  endedAt: 'ended_at',
};

export function updatePluginRun(store: Store, id: number, update: PluginRunUpdate): void {
  const keys = (Object.keys(update) as Array<keyof PluginRunUpdate>).filter((k) => update[k] !== undefined);
  if (!keys.length) return;
  const sql = `UPDATE plugin_runs SET ${keys.map((k) => `${PLUGIN_RUN_COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`;
  store.statement(sql).run(...keys.map((k) => update[k] ?? null), id);
}

/** Runs of a session, oldest first, optionally of one host and/or one plug-in. */
export function pluginRuns(store: Store, sessionId: string, filter: PluginRunFilter = {}): PluginRun[] {
  const rows = store
    .statement(
      `SELECT * FROM plugin_runs WHERE session_id = ? AND (? IS NULL OR host = ?) AND (? IS NULL OR plugin = ?)
         AND (? IS NULL OR key = ?) AND id > ? ORDER BY id`,
    )
    .all(sessionId, filter.host ?? null, filter.host ?? null, filter.plugin ?? null, filter.plugin ?? null, filter.key ?? null, filter.key ?? null, filter.afterId ?? 0) as Row[];
  return rows.map(toRun);
}

/** A run by its row id (for following one that is still going). */
export function pluginRun(store: Store, id: number): PluginRun | null {
  const row = store.statement('SELECT * FROM plugin_runs WHERE id = ?').get(id) as Row | undefined;
  return row ? toRun(row) : null;
}

/** Characters of output read per run for its last lines. */
export const TAIL_CHARS = 4096;

/** Runs of a session with only the end of their output (what `session show` needs). */
export function pluginRunTails(store: Store, sessionId: string): PluginRun[] {
  const rows = store
    .statement(
      `SELECT id, session_id, key, attempt, host, plugin, type, status, exit_status, cause, substr(output, -${TAIL_CHARS}) AS output,
         output_chars, started_at, ended_at FROM plugin_runs WHERE session_id = ? ORDER BY id`,
    )
    .all(sessionId) as Row[];
  return rows.map(toRun);
}
