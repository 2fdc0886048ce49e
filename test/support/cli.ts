// The built CLI as a child process, as a user runs it: stdout and stderr piped (not a terminal),
// no colour, none of the test runner's MAINTCTL_ variables. (Older test files still carry their
// own copy of this; new ones use this one.)
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export const BIN = join(__dirname, '..', '..', 'bin', 'maintctl.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  for (const name of Object.keys(env)) if (name.startsWith('MAINTCTL_') || name === 'CI' || name === 'FORCE_COLOR') delete env[name];
  return { ...env, ...extra };
}

/** A running `maintctl --state-dir DIR ...args`: its output so far, and its end. */
export interface CliRun {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stdout: () => string;
  done: Promise<CliResult>;
}

export function startMaintctl(dir: string, args: string[], env: NodeJS.ProcessEnv = cliEnv()): CliRun {
  const child = spawn(process.execPath, [BIN, '--state-dir', dir, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, done };
}

/** Runs `maintctl --state-dir DIR ...args` and resolves when it exits. */
export const maintctl = (dir: string, args: string[], env?: NodeJS.ProcessEnv) => startMaintctl(dir, args, env).done;
