// Embedded mode: one background engine process per state directory, started on demand. A lock
// file holds its pid; the engine exits when no session is active, and logs to engine.log.
import { spawn } from 'node:child_process';
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '../domain/errors.js';
import { makeDirs } from '../store/db.js';
import { processAlive } from '../store/process-alive.js';

const BIN = fileURLToPath(new URL('../../bin/maintctl.js', import.meta.url));

export const lockPath = (stateDir: string) => join(stateDir, 'engine.lock');
/** The base URL of the API the running engine serves (serve, or engine with MAINTCTL_LISTEN). */
export const urlPath = (stateDir: string) => join(stateDir, 'engine.url');
export const logPath = (stateDir: string) => join(stateDir, 'engine.log');

/** The pid of the engine running for this directory, or null. */
export function runningEngine(stateDir: string): number | null {
  const pid = lockHolder(lockPath(stateDir));
  return pid !== null && processAlive(pid) ? pid : null;
}

/** Starts the background engine unless one runs; returns its pid (the new one, or the running one). */
export function ensureEngine(stateDir: string, env: NodeJS.ProcessEnv = process.env): number {
  const running = runningEngine(stateDir);
  if (running) return running;
  makeDirs(stateDir);
  const log = openSync(logPath(stateDir), 'a', 0o600);
  const child = spawn(process.execPath, [BIN, '--state-dir', stateDir, 'engine'], {
    detached: true,
    stdio: ['ignore', log, log],
    env,
  });
  closeSync(log);
  child.unref();
  return child.pid ?? 0;
}

/**
 * Taken by the engine process itself. False when another live engine holds the directory.
 * A lock left by a dead process is taken over.
 */
export function takeEngineLock(stateDir: string): boolean {
  makeDirs(stateDir);
  const lock = lockPath(stateDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createLock(lock)) return true;
    const holder = lockHolder(lock);
    if (holder === process.pid) return true;
    if (holder === null) continue; // removed meanwhile: try again
    if (processAlive(holder)) return false;
    // Left by a dead engine: moved aside, then looked at, because another engine starting at the
    // same moment may have replaced it with its own since we read it: that one is put back.
    const aside = `${lock}.stale-${process.pid}`;
    try {
      renameSync(lock, aside);
    } catch {
      continue;
    }
    const moved = lockHolder(aside);
    if (moved !== null && moved !== holder && processAlive(moved)) {
      tryLink(aside, lock);
      rmSync(aside, { force: true });
      return false;
    }
    rmSync(aside, { force: true });
  }
  return false;
}

/**
 * Creates the lock with this pid in it, at once: written to a file of its own, then linked to the
 * lock's name (which fails if it exists). A lock created empty and written after could be read
 * empty by an engine starting beside this one, taken for a dead one's and replaced: two engines.
 */
function createLock(lock: string): boolean {
  const mine = `${lock}.${process.pid}`;
  writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    return tryLink(mine, lock);
  } finally {
    rmSync(mine, { force: true });
  }
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** The pid a lock file names (0 when it names none: a stale lock), or null when there is no lock. */
function lockHolder(lock: string): number | null {
  let text: string;
  try {
    text = readFileSync(lock, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}

export function releaseEngineLock(stateDir: string): void {
  if (lockHolder(lockPath(stateDir)) === process.pid) rmSync(lockPath(stateDir), { force: true });
}

/** Told by an engine that serves the API, so the CLI knows reply URLs work; gone with the engine. */
export function advertiseUrl(stateDir: string, url: string): void {
  writeFileSync(urlPath(stateDir), `${url}\n`, { mode: 0o600 });
}

export function withdrawUrl(stateDir: string): void {
  rmSync(urlPath(stateDir), { force: true });
}

/** The URL the live engine of this directory serves the API at, or null. */
export function servedUrl(stateDir: string): string | null {
  if (!runningEngine(stateDir)) return null;
  try {
    return readFileSync(urlPath(stateDir), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** A loopback HOST:PORT (the background engine serves without tokens, so never beyond this machine). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) {
    throw new InvalidInputError(`invalid listen address "${value}": give a loopback HOST:PORT such as 127.0.0.1:12347 (for more, run maintctl serve)`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
