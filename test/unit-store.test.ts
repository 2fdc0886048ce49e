import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../src/domain/errors.js';
import type { Host, Project, Session } from '../src/domain/model.js';
import * as rows from './support/repository-contract.js';
import { migrate, openDb, schemaVersion } from '../src/store/db.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { Store } from '../src/store/store.js';

const T0 = Date.UTC(2026, 0, 1);
const LATEST = MIGRATIONS.at(-1)!.version;

/** A session as the store must read it back: the contract suite's rows. */
const session = (id: string, patch: Partial<Session> = {}): Session => rows.session(id, { maintenanceAt: T0, ...patch });

const host = (name: string): Host => rows.host(name, { vcpus: 4, vcpusUsed: 0, memoryMb: null, memoryMbUsed: null });

let dir: string;
let path: string;
const opened: Store[] = [];

function open(): Store {
  const store = Store.open(path);
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'maintctl-unit-store-'));
  path = join(dir, 'state', 'maintctl.db');
});

afterEach(() => {
  for (const store of opened.splice(0)) if (store.db.open) store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('opening the store', () => {
  it('creates the directory and applies every migration to a new store', () => {
    const store = open();
    expect(schemaVersion(store.db)).toBe(LATEST);
    const rows = store.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('applies migrations only once: reopening keeps the version and the data', () => {
    const first = open();
    first.insertSession(session('s-1'));
    first.close();

    const again = open();
    expect(schemaVersion(again.db)).toBe(LATEST);
    const count = again.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number };
    expect(count.n).toBe(MIGRATIONS.length);
    expect(again.getSession('s-1').metadata).toEqual({ openstack_release: 'Queens' });
  });

  it('migrating an up-to-date store again changes nothing', () => {
    const store = open();
    migrate(store.db, MIGRATIONS);
    expect(schemaVersion(store.db)).toBe(LATEST);
    const count = store.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number };
    expect(count.n).toBe(MIGRATIONS.length);
  });

  it('refuses a store written by a newer maintctl, saying to upgrade', () => {
    const store = open();
    store.db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 'x')").run(LATEST + 1);
    store.close();
    expect(() => openDb(path)).toThrow(/newer maintctl.*upgrade maintctl/);
  });

  it('uses WAL journal mode', () => {
    const store = open();
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('enforces foreign keys', () => {
    const store = open();
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
  });
});

describe('sessions', () => {
  it('reads back a session as it was inserted, with its plug-ins in order', () => {
    const store = open();
    const s = session('s-1', { data: { freeVcpusBeforeScaleIn: 3 } });
    store.insertSession(s);
    expect(store.getSession('s-1')).toEqual(s);
  });

  it('getSession on an unknown id is NotFoundError naming it', () => {
    const store = open();
    expect(() => store.getSession('nope')).toThrow(NotFoundError);
    expect(() => store.getSession('nope')).toThrow('no session nope');
  });
});

describe('resolveSessionId', () => {
  let store: Store;
  beforeEach(() => {
    store = open();
    for (const id of ['abc123', 'abd456', 'xyz789']) store.insertSession(session(id));
  });

  it('accepts a full id', () => {
    expect(store.resolveSessionId('abc123')).toBe('abc123');
  });

  it('accepts a unique prefix', () => {
    expect(store.resolveSessionId('abc')).toBe('abc123');
    expect(store.resolveSessionId('x')).toBe('xyz789');
  });

  it('refuses an ambiguous prefix as invalid input', () => {
    expect(() => store.resolveSessionId('ab')).toThrow(InvalidInputError);
    expect(() => store.resolveSessionId('ab')).toThrow('session id prefix "ab" is ambiguous: it matches abc123, abd456; give more characters');
  });

  it('takes a prefix in any case', () => {
    expect(store.resolveSessionId('ABC')).toBe('abc123');
    expect(store.resolveSessionId('XYZ789')).toBe('xyz789');
  });

  it('reports NotFoundError when nothing matches', () => {
    expect(() => store.resolveSessionId('q')).toThrow(NotFoundError);
    expect(() => store.resolveSessionId('q')).toThrow('no session q');
  });

  it('treats LIKE wildcards in the prefix literally', () => {
    expect(() => store.resolveSessionId('a%')).toThrow(NotFoundError);
    expect(() => store.resolveSessionId('_bc')).toThrow(NotFoundError);
  });

  it('prefers an exact id over longer ids it is a prefix of', () => {
    store.insertSession(session('abc'));
    expect(store.resolveSessionId('abc')).toBe('abc');
  });
});

describe('leases', () => {
  it('grants a free lease and refuses a second owner while it is valid', () => {
    const store = open();
    store.insertSession(session('s-1'));
    expect(store.acquireLease('s-1', 'engine-a', T0, 10_000)).not.toBeNull();
    expect(store.acquireLease('s-1', 'engine-b', T0 + 9_999, 10_000)).toBeNull();
    expect(store.lease('s-1')?.owner).toBe('engine-a');
  });

  it('lets the owner renew its lease', () => {
    const store = open();
    expect(store.acquireLease('s-1', 'engine-a', T0, 10_000)).not.toBeNull();
    expect(store.acquireLease('s-1', 'engine-a', T0 + 5_000, 10_000)).not.toBeNull();
    expect(store.lease('s-1')?.expiresAt).toBe(T0 + 15_000);
  });

  it('grants the lease to another owner once it has expired', () => {
    const store = open();
    expect(store.acquireLease('s-1', 'engine-a', T0, 10_000)).not.toBeNull();
    expect(store.acquireLease('s-1', 'engine-b', T0 + 10_001, 10_000)).not.toBeNull();
    expect(store.lease('s-1')).toMatchObject({ owner: 'engine-b', expiresAt: T0 + 20_001 });
  });

  it('frees the lease on release, but only for its owner', () => {
    const store = open();
    store.acquireLease('s-1', 'engine-a', T0, 10_000);
    store.releaseLease('s-1', 'engine-b');
    expect(store.lease('s-1')?.owner).toBe('engine-a');
    store.releaseLease('s-1', 'engine-a');
    expect(store.lease('s-1')).toBeNull();
    expect(store.acquireLease('s-1', 'engine-b', T0 + 1, 10_000)).not.toBeNull();
  });

  it('is seen by another connection to the same store', () => {
    const a = open();
    const b = open();
    expect(a.acquireLease('s-1', 'engine-a', T0, 10_000)).not.toBeNull();
    expect(b.acquireLease('s-1', 'engine-b', T0 + 1, 10_000)).toBeNull();
  });
});

describe('tx', () => {
  it('commits everything the function wrote', () => {
    const store = open();
    const result = store.tx(() => {
      store.insertSession(session('s-1'));
      store.appendEvent('s-1', T0, 'maintenance.session', { state: 'MAINTENANCE' });
      return 42;
    });
    expect(result).toBe(42);
    expect(store.findSession('s-1')).not.toBeNull();
    expect(store.events('s-1')).toHaveLength(1);
  });

  it('rolls back everything when the function throws, and rethrows', () => {
    const store = open();
    store.insertSession(session('s-0'));
    expect(() =>
      store.tx(() => {
        store.insertSession(session('s-1'));
        store.applyChanges('s-0', { session: { ...session('s-0'), state: 'MAINTENANCE_FAILED', failure: 'boom' } });
        store.appendEvent('s-1', T0, 'maintenance.session', {});
        store.setMeta('k', 'v');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.findSession('s-1')).toBeNull();
    expect(store.getSession('s-0').state).toBe('MAINTENANCE');
    expect(store.getSession('s-0').failure).toBeNull();
    expect(store.events(null)).toEqual([]);
    expect(store.getMeta('k')).toBeNull();
  });

  it('leaves data written before the failed transaction alone', () => {
    const store = open();
    store.setMeta('k', 'before');
    expect(() =>
      store.tx(() => {
        store.setMeta('k', 'during');
        throw new Error('no');
      }),
    ).toThrow();
    expect(store.getMeta('k')).toBe('before');
  });
});

describe('batch writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'maintctl-batch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const project = (patch: Partial<Project> = {}): Project => ({
    projectId: 'proj-a', policy: 'ask', state: 'PLANNED_MAINTENANCE', visit: 3, wave: 2, replyState: null, replyAt: T0 + 20_000, repliedAt: null, ...patch,
  });

  it('reads back the rows a runner wrote, and what another connection wrote', () => {
    const a = Store.open(join(dir, 'm.db'));
    const b = Store.open(join(dir, 'm.db'));
    a.insertSession(session('s-1'));
    a.tx(() => a.applyChanges('s-1', { hosts: [host('compute-0')], projects: [project()] }));
    b.tx(() => b.applyChanges('s-1', { hosts: [{ ...host('compute-0'), state: 'MAINTAINED' }] }));
    expect(a.hosts('s-1').map((h) => h.state)).toEqual(['MAINTAINED']);
    expect(a.projects('s-1')).toEqual([project()]);
    a.close();
    b.close();
  });

  it('never erases a reply another process recorded for the same question, but clears it for a new one', () => {
    const store = Store.open(join(dir, 'm.db'));
    store.insertSession(session('s-1'));
    store.tx(() => store.applyChanges('s-1', { projects: [project()] }));
    // The reply arrives through another caller...
    store.tx(() => store.applyChanges('s-1', { projects: [project({ replyState: 'ACK_PLANNED_MAINTENANCE', repliedAt: T0 + 1 })] }));
    // ...while the runner, not knowing yet, writes its copy of the row (e.g. a policy change).
    store.tx(() => store.applyChanges('s-1', { projects: [project({ policy: 'migrate' })] }));
    expect(store.projects('s-1')[0]).toMatchObject({ policy: 'migrate', replyState: 'ACK_PLANNED_MAINTENANCE', repliedAt: T0 + 1 });
    // A new question (the next wave) starts without an answer.
    store.tx(() => store.applyChanges('s-1', { projects: [project({ wave: 3 })] }));
    expect(store.projects('s-1')[0]).toMatchObject({ wave: 3, replyState: null, repliedAt: null });
    store.close();
  });

  it('writes nothing of a batch when the transaction fails', () => {
    const store = Store.open(join(dir, 'm.db'));
    store.insertSession(session('s-1'));
    expect(() =>
      store.tx(() => {
        store.applyChanges('s-1', { hosts: [host('compute-0')] });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.hosts('s-1')).toEqual([]);
    store.close();
  });
});

describe('processAlive', () => {
  it('sees a running process as alive, and a killed one as gone even when nobody reaps it', async () => {
    const { execFileSync } = await import('node:child_process');
    const { processAlive } = await import('../src/store/process-alive.js');
    // An orphan: its parent (sh) exits at once, so only PID 1 could reap it; where PID 1 does
    // not (containers), the killed orphan stays a zombie, which must count as gone.
    const pid = Number(execFileSync('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim());
    expect(processAlive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
    // The kernel finishes it asynchronously: wait (without sleeping) until it is a zombie or gone.
    const { readFileSync } = await import('node:fs');
    const state = () => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      } catch {
        return 'gone';
      }
    };
    for (let i = 0; i < 10_000 && !['Z', 'gone'].includes(state()); i++) await new Promise((resolve) => setImmediate(resolve));
    expect(['Z', 'gone']).toContain(state());
    expect(processAlive(pid)).toBe(false);
    expect(processAlive(0)).toBe(false);
  });
});
