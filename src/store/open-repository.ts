// The shared store a --store value (or MAINTCTL_STORE) names. Only PostgreSQL so far; the embedded
// SQLite store of the state directory is the default and needs no flag. The pg client is loaded
// here, on demand, so that commands on the embedded store never load it.
import type { Repository } from './repository.js';

/** A repository other processes share over the network: closed when the process is done with it. */
export interface SharedRepository extends Repository {
  close(): Promise<void>;
}

const POSTGRES_URL = /^postgres(ql)?:\/\/[^/]*\/[^/?]+/i;

/** Why a --store value cannot be used, or null when it can. */
export function storeUrlProblem(value: string): string | null {
  if (POSTGRES_URL.test(value)) return null;
  return `invalid --store "${redactStoreUrl(value)}": give postgres://USER@HOST[:PORT]/DATABASE (leave it out for the state directory's own store)`;
}

/** Opens the store; `leaseTimeMs`, the engine's, also bounds how long a paused replica's transaction may hold others up. */
export async function openSharedStore(url: string, options: { leaseTimeMs?: number } = {}): Promise<SharedRepository> {
  const { PgRepository } = await import('./pg-repository.js');
  try {
    return await PgRepository.open(url, { idleInTransactionMs: options.leaseTimeMs });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot open the store ${redactStoreUrl(url)}: ${e.message || e.code || String(err)}; check that PostgreSQL runs there and the user may connect`);
  }
}

/** A store URL without its password, for messages and logs. */
export const redactStoreUrl = (url: string) => url.replace(/^(\w+:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
