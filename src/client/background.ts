// Embedded mode: one background engine process per state directory, started on demand. A lock
// file holds its pid; the engine exits when no session is active, and logs to engine.log.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDirs } from '../store/db.js';
import { processAlive } from '../store/process-alive.js';

const BIN = fileURLToPath(new URL('../../bin/maintctl.js', import.meta.url));

export const lockPath = (stateDir: string) => join(stateDir, 'engine.lock');
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
  const log = openSync(logPath(stateDir), 'a');
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
