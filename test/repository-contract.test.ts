import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { PgRepository } from '../src/store/pg-repository.js';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { Store } from '../src/store/store.js';
import { postgresMissing, startPostgres, type Postgres } from './support/postgres.js';
import { repositoryContract } from './support/repository-contract.js';

repositoryContract('SqliteRepository on an in-memory store', async () => {
  const store = Store.open(':memory:');
  return { repo: new SqliteRepository(store), close: async () => store.close() };
});

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
