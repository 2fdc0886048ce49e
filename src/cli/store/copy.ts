// maintctl store copy --from DIR|postgres://... --to DIR|postgres://...: moves a state directory's
// sessions and their history into a shared PostgreSQL (to run them on serve replicas), or back.
// Refused while an engine runs on the source; the target gets all of it or nothing.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { runningEngine, releaseEngineLock, takeEngineLock } from '../../client/background.js';
import { storePath } from '../../client/state-dir.js';
import { InvalidInputError, NotFoundError } from '../../domain/errors.js';
import type { CopyEnd, CopyReport } from '../../store/copy.js';
import { redactStoreUrl, storeUrlProblem } from '../../store/open-repository.js';
import { UsageError } from '../exit-codes.js';
import type { IO } from '../io.js';
import type { Run } from '../main.js';
import { emit, type OutputFormat } from '../render/output.js';

export interface StoreCopyOptions {
  /** A state directory or a postgres:// URL. */
  from: string;
  to: string;
  format: OutputFormat;
  /** The time leases are judged at (ms). */
  now: number;
}

export function register(store: Command, run: Run): void {
  store
    .command('copy')
    .description('copy every session, its history, releases, clusters, subscriptions and constraints from one store into another')
    .requiredOption('--from <store>', 'a state directory, or postgres://USER@HOST/DB (no engine may run on it)')
    .requiredOption('--to <store>', 'a state directory (created if missing), or postgres://USER@HOST/DB; it must hold none of the sessions')
    .action((flags: { from: string; to: string }) => run(({ io, format, clock }) => runStoreCopy({ ...flags, format, now: clock.now() }, io)));
}

const isUrl = (value: string) => /^postgres(ql)?:\/\//i.test(value);

/** How a store is named in messages: a directory, or a URL without its password. */
const nameOf = (value: string) => (isUrl(value) ? redactStoreUrl(value) : resolve(value));

export async function runStoreCopy(options: StoreCopyOptions, io: IO): Promise<void> {
  for (const [flag, value] of [['--from', options.from], ['--to', options.to]] as const) {
    const problem = isUrl(value) ? storeUrlProblem(value) : null;
    if (problem) throw new UsageError(problem.replace('--store', flag));
  }
  if (nameOf(options.from) === nameOf(options.to)) throw new UsageError(`--from and --to name the same store (${nameOf(options.from)}): give another --to`);
  const { copyStore, refuseRunning } = await import('../../store/copy.js');
  const unlock: Array<() => void> = [];
  const ends: CopyEnd[] = [];
  try {
    const from = await openEnd(options.from, false, unlock);
    ends.push(from);
    await refuseRunning(from, options.now); // before the target is opened (a directory would be created)
    const to = await openEnd(options.to, true, unlock);
    ends.push(to);
    const report = await copyStore(from, to, options.now);
    emit(io, options.format, { from: from.name, to: to.name, sessions: report.sessions, rows: report.rows }, () => summary(report, from.name, to.name));
  } finally {
    for (const end of ends) await end.close().catch(() => undefined);
    for (const u of unlock) u();
  }
}

/**
 * Opens one end. A state directory's source is locked as an engine locks it, so that none starts
 * during the copy (one running already is named by liveRunners); a PostgreSQL is migrated first.
 */
async function openEnd(value: string, target: boolean, unlock: Array<() => void>): Promise<CopyEnd> {
  const name = nameOf(value);
  if (isUrl(value)) {
    const [{ openSharedStore }, { postgresEnd }] = await Promise.all([import('../../store/open-repository.js'), import('../../store/copy.js')]);
    await (await openSharedStore(value)).close();
    return postgresEnd(value, name);
  }
  const [{ Store }, { sqliteEnd }] = await Promise.all([import('../../store/store.js'), import('../../store/copy.js')]);
  if (!target && takeEngineLock(value)) unlock.push(() => releaseEngineLock(value));
  let store;
  try {
    store = Store.open(storePath(value), { create: target });
  } catch (err) {
    if (err instanceof InvalidInputError || err instanceof NotFoundError) throw err;
    throw new Error(`cannot open the store in ${value}: ${(err as Error).message}`, { cause: err });
  }
  const others = () => {
    const pid = runningEngine(value);
    return pid !== null && pid !== process.pid ? [`engine pid ${pid}`] : [];
  };
  return sqliteEnd(store, name, target ? () => [] : others);
}

function summary(report: CopyReport, from: string, to: string): string {
  const { sessions, rows } = report;
  const counted = ['events', 'releases', 'clusters', 'notifications', 'subscriptions', 'instance_groups', 'instance_constraints']
    .filter((t) => rows[t])
    .map((t) => `${rows[t]} ${t.replace('_', ' ')}`);
  const what = `${sessions.length} session${sessions.length === 1 ? '' : 's'}${counted.length ? ` (${counted.join(', ')})` : ''}`;
  return `copied ${what} from ${from} to ${to}`;
}
