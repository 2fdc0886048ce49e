// Rows of running sessions kept in memory, so a session runner's many small steps do not each
// re-read every host and instance. Writes made through the Store patch the cache (copy on write:
// a snapshot taken earlier never changes under its holder); a commit by any other connection,
// or a rolled-back transaction, drops it all. The store stays the truth.
import type { Host, Instance, Operation, Project, Session } from '../domain/model.js';

interface Rows {
  session?: Session;
  hosts?: Host[];
  projects?: Project[];
  instances?: Instance[];
  /** Operations of `visit` plus every unfinished one. */
  live?: { visit: number; list: Operation[] };
}

type Sortable = Host | Project | Instance;
const keyOf = (row: Sortable) => ('instanceId' in row ? row.instanceId : 'projectId' in row ? row.projectId : row.name);
const byKey = (a: Sortable, b: Sortable) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);

export class SessionCache {
  private readonly sessions = new Map<string, Rows>();

  clear(): void {
    this.sessions.clear();
  }

  forget(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  private rows(sessionId: string): Rows {
    let rows = this.sessions.get(sessionId);
    if (!rows) {
      rows = {};
      this.sessions.set(sessionId, rows);
    }
    return rows;
  }

  /** The cached value, or what `load` reads (then kept). */
  read<K extends 'session' | 'hosts' | 'projects' | 'instances'>(sessionId: string, key: K, load: () => Rows[K]): NonNullable<Rows[K]> | undefined {
    const rows = this.rows(sessionId);
    if (rows[key] === undefined) rows[key] = load();
    return rows[key] ?? undefined;
  }

  readLive(sessionId: string, visit: number, load: () => Operation[]): Operation[] {
    const rows = this.rows(sessionId);
    if (rows.live?.visit !== visit) rows.live = { visit, list: load() };
    return rows.live.list;
  }

  patchSession(sessionId: string, patch: Partial<Session>): void {
    const rows = this.sessions.get(sessionId);
    if (rows?.session) rows.session = { ...rows.session, ...patch };
  }

  /** Replaces, adds or (when `change` gives null) removes the row `key` of a list, keeping key order. */
  patchList<K extends 'hosts' | 'projects' | 'instances'>(
    sessionId: string,
    list: K,
    key: string,
    change: (row: NonNullable<Rows[K]>[number] | undefined) => NonNullable<Rows[K]>[number] | null,
  ): void {
    const rows = this.sessions.get(sessionId);
    const current = rows?.[list] as Sortable[] | undefined;
    if (!rows || !current) return;
    const index = current.findIndex((r) => keyOf(r) === key);
    const next = change(index < 0 ? undefined : (current[index] as never)) as Sortable | null;
    let copy: Sortable[];
    if (index >= 0 && next && keyOf(next) === key) {
      copy = current.map((r, i) => (i === index ? next : r));
    } else {
      copy = current.filter((_, i) => i !== index);
      if (next) copy = [...copy, next].sort(byKey);
    }
    (rows[list] as Sortable[]) = copy;
  }

  addOperation(op: Operation): void {
    const live = this.sessions.get(op.sessionId)?.live;
    if (live) live.list = [...live.list, op];
  }

  patchOperation(id: number, patch: Partial<Operation>): void {
    for (const rows of this.sessions.values()) {
      const live = rows.live;
      const index = live?.list.findIndex((op) => op.id === id) ?? -1;
      if (!live || index < 0) continue;
      const next = { ...live.list[index]!, ...patch };
      const stillLive = next.visit === live.visit || next.status === 'started' || next.status === 'requested';
      live.list = stillLive ? live.list.map((op, i) => (i === index ? next : op)) : live.list.filter((_, i) => i !== index);
    }
  }
}
