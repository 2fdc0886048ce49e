// Embedded mode: one background engine process per state directory, started on demand. A lock
// file holds its pid; the engine exits when no session is active, and logs to engine.log.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  try {
    const pid = Number(readFileSync(lockPath(stateDir), 'utf8').trim());
    return processAlive(pid) ? pid : null;
  } catch {
    return null;
  }
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
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath(stateDir), `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = runningEngine(stateDir);
      if (holder && holder !== process.pid) return false;
      rmSync(lockPath(stateDir), { force: true });
    }
  }
  return false;
}

export function releaseEngineLock(stateDir: string): void {
  try {
    if (Number(readFileSync(lockPath(stateDir), 'utf8').trim()) === process.pid) rmSync(lockPath(stateDir), { force: true });
  } catch {
    // already gone
  }
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
