// What the PostgreSQL repository's modules share: the query runner they take and the event log's
// append (with its outbox rows), which notifications write through too.
import { randomUUID } from 'node:crypto';
import type { QueryResult } from 'pg';
import type { SessionEvent } from '../domain/model.js';
import { json, type Row } from './rows.js';
import type { NewEvent } from './store.js';

/** A connection or the pool: anything that runs a query. */
/** SQL written with `?` placeholders (SQLite's), numbered as PostgreSQL takes them. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export type Db = { query<R = Row>(text: string, values?: unknown[]): Promise<QueryResult<R>> };

/** Appends an event and, in the same transaction, queues it for every webhook subscribed to it (as Store.appendEvent). */
export async function appendEvent(db: Db, sessionId: string | null, time: number, e: NewEvent): Promise<SessionEvent> {
  const messageId = randomUUID();
  const { rows } = await db.query('INSERT INTO events (session_id, time, event_type, message_id, payload) VALUES ($1, $2, $3, $4, $5) RETURNING id', [
    sessionId, time, e.eventType, messageId, json(e.payload),
  ]);
  const eventId = Number(rows[0]!.id);
  const projectId = (e.payload as { project_id?: unknown }).project_id ?? null;
  await db.query(
    `INSERT INTO deliveries (event_id, subscription_id, session_id, url, format, status, attempts, next_attempt_at)
     SELECT $1, MIN(id), $2::text, url, format, 'pending', 0, $3 FROM subscriptions
     WHERE url IS NOT NULL AND (session_id IS NULL OR session_id = $2::text)
       AND (($4::text = 'maintenance.planned' AND event_type IN ('maintenance.planned', 'maintenance.scheduled') AND project_id = $5::text)
         OR ($4::text IN ('maintenance.host', 'maintenance.session') AND event_type = $4::text))
     GROUP BY url, format`,
    [eventId, sessionId, time, e.eventType, projectId === null ? null : String(projectId)],
  );
  return { id: eventId, sessionId, time, eventType: e.eventType, messageId, payload: e.payload as Record<string, unknown> };
}
