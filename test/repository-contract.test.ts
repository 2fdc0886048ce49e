import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRepository } from '../src/store/memory-repository.js';
import { PG_MIGRATIONS } from '../src/store/pg-migrations.js';
import { PgRepository } from '../src/store/pg-repository.js';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { Store } from '../src/store/store.js';
import { postgresMissing, psql, startPostgres, type Postgres } from './support/postgres.js';
import { repositoryContract, session, T0 } from './support/repository-contract.js';

repositoryContract('SqliteRepository on an in-memory store', async () => {
  const store = Store.open(':memory:');
  return { repo: new SqliteRepository(store), close: async () => store.close() };
});

repositoryContract('MemoryRepository (rehearsals)', async () => ({ repo: new MemoryRepository(), close: async () => undefined }), { clusters: false });

// As rehearsals open it: instance and operation rows shared with the caller, not copied.
repositoryContract('MemoryRepository sharing rows', async () => ({ repo: new MemoryRepository({ sharesRows: true }), close: async () => undefined }), { clusters: false });

repositoryContract(
  'SqliteRepository on a store file',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-repo-contract-'));
    const path = join(dir, 'state', 'maintctl.db');
    const stores = [Store.open(path)];
    return {
      repo: new SqliteRepository(stores[0]!),
      connectAgain: async () => {
        const store = Store.open(path);
        stores.push(store);
        return new SqliteRepository(store);
      },
      close: async () => {
        for (const store of stores) if (store.isOpen) store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { sharedData: true },
);

describe.skipIf(postgresMissing())('on PostgreSQL', () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('replicas starting at once on an empty database migrate it once and all open it', async () => {
    const url = await server.createDatabase();
    const repos = await Promise.all([1, 2, 3, 4].map(() => PgRepository.open(url)));
    try {
      expect(await psql(server.dir, 'SELECT version FROM schema_migrations ORDER BY version', url.split('/').at(-1))).toBe(
        PG_MIGRATIONS.map((m) => m.version).join('\n') + '\n',
      );
      await repos[0]!.createSession(session('s-1'), [], 'sim:x', [], T0);
      expect(await repos[3]!.findSession('s-1')).not.toBeNull();
    } finally {
      await Promise.all(repos.map((r) => r.close()));
    }
  });

  it('a store from a newer maintctl is refused, saying to upgrade', async () => {
    const url = await server.createDatabase();
    await (await PgRepository.open(url)).close();
    await psql(server.dir, "INSERT INTO schema_migrations VALUES (999, 'future', 'x')", url.split('/').at(-1));
    await expect(PgRepository.open(url)).rejects.toThrow(/newer maintctl \(schema 999, this one knows \d+\); upgrade maintctl/);
  });

  it('a replica paused in the middle of a transaction has it ended by the server, and carries on', async () => {
    const url = await server.createDatabase();
    const paused = await PgRepository.open(url, { idleInTransactionMs: 300 });
    const other = await PgRepository.open(url);
    try {
      await paused.createSession(session('s-1'), [], 'sim:x', [], T0);
      const before = await other.loadSession('s-1');
      const write = paused.updateSession('s-1', (rows) => {
        // The whole process stops here, inside the transaction, as a SIGSTOPped replica does
        // (ten times the limit: the server ends the transaction long before this returns).
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
        return { changes: { session: { ...rows.session, state: 'MAINTENANCE_FAILED', failure: 'late' } }, events: [{ eventType: 'maintenance.session', payload: {} }] };
      }, T0 + 1);
      await expect(write).rejects.toThrow();
      // Nothing of the ended transaction was written; the write lock is free (the other writes).
      expect(await other.loadSession('s-1')).toEqual(before);
      expect(await other.events('s-1')).toEqual([]);
      await other.record('s-1', { changes: {}, events: [{ eventType: 'maintenance.session', payload: { from: 'other' } }] }, T0 + 2);
      // And the paused replica's process lives on, its next transaction on a new connection.
      await paused.record('s-1', { changes: {}, events: [{ eventType: 'maintenance.session', payload: { from: 'paused' } }] }, T0 + 3);
      expect((await other.events('s-1')).map((e) => e.payload)).toEqual([{ from: 'other' }, { from: 'paused' }]);
    } finally {
      await paused.close();
      await other.close();
    }
  });

  repositoryContract(
    'PgRepository on a real PostgreSQL',
    async () => {
      const url = await server.createDatabase();
      const repos = [await PgRepository.open(url)];
      return {
        repo: repos[0]!,
        connectAgain: async () => {
          const repo = await PgRepository.open(url);
          repos.push(repo);
          return repo;
        },
        close: async () => {
          for (const repo of repos) await repo.close();
        },
      };
    },
    { sharedData: true },
  );
});
