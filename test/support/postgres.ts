// A real PostgreSQL server for tests: Debian's postgresql package (scripts/test-tools.sh installs
// it), initdb'd into a temporary directory and listening only on a unix socket there. PostgreSQL
// refuses to run as root: under root (CI containers) initdb and the server run as the package's
// unprivileged `postgres` user through runuser, and the directory is given to that user.
// Without the package the tests that need it are skipped, saying so, except in CI (CI=true),
// where a missing server is a failure.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The directory of initdb and postgres (the newest installed major version), or null. */
export const PG_BIN: string | null = (() => {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0]!, 'bin') : null;
})();

/** Why PostgreSQL tests cannot run here, or null when they can. Throws in CI rather than skip. */
export function postgresMissing(): string | null {
  if (PG_BIN) return null;
  const why = 'PostgreSQL tests skipped: Debian package "postgresql" is not installed (run scripts/test-tools.sh)';
  if (process.env.CI === 'true') throw new Error(`${why}; CI must run them`);
  console.warn(why);
  return why;
}

export interface Postgres {
  /** The socket directory (a connection's host). */
  dir: string;
  /** postgres://...: the database `name`, created empty by createDatabase. */
  url(name: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL program as a user it accepts. */
function asServerUser(program: string, args: string[]): [string, string[]] {
  const path = join(PG_BIN!, program);
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

const PORT = 5432; // names the socket file only: nothing listens on TCP

export async function startPostgres(): Promise<Postgres> {
  if (!PG_BIN) throw new Error('PostgreSQL is not installed: run scripts/test-tools.sh (it installs postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'maintctl-pg-'));
  const data = join(dir, 'data');
  if (isRoot()) {
    const ids = execFileSync('id', ['-u', 'postgres']).toString().trim();
    const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  chmodSync(dir, 0o700);
  const [initdb, initArgs] = asServerUser('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  execFileSync(initdb, initArgs, { stdio: 'pipe' });
  // Durability is not what these tests check: fsync off keeps them quick on a busy machine.
  const serverOptions = `-k ${dir} -p ${PORT} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const [pgCtl, startArgs] = asServerUser('pg_ctl', ['start', '-D', data, '-w', '-t', '120', '-l', join(dir, 'server.log'), '-o', serverOptions]);
  try {
    execFileSync(pgCtl, startArgs, { stdio: 'pipe' });
  } catch (err) {
    const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
    throw new Error(`postgres did not start: ${(err as Error).message}\n${log.slice(-2000)}`);
  }
  const stop = () => {
    process.off('exit', stop);
    const [ctl, stopArgs] = asServerUser('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
    execFileSync(ctl, stopArgs, { stdio: 'pipe' });
    rmSync(dir, { recursive: true, force: true });
  };
  // pg_ctl runs the server detached: a test process that ends without stop() still stops it.
  process.on('exit', stop);
  const url = (name: string) => `postgres://postgres@${encodeURIComponent(dir)}:${PORT}/${name}`;
  let created = 0;
  return {
    dir,
    url,
    async createDatabase(name = `t${process.pid}_${++created}`) {
      await psql(dir, `CREATE DATABASE ${name}`);
      return url(name);
    },
    async stop() {
      stop();
    },
  };
}

/** One statement through psql, as the superuser. */
export async function psql(dir: string, sql: string, database = 'postgres'): Promise<string> {
  return execFileSync(join(PG_BIN!, 'psql'), ['-h', dir, '-p', String(PORT), '-U', 'postgres', '-d', database, '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql]).toString();
}
