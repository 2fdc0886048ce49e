import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { Store } from '../src/store/store.js';
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
