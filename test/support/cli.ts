// The built CLI run as a user runs it: a child process with pipes (support/terminal.ts: on a
// pseudo-terminal). `npm run build` first (`npm test` does).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'maintctl.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The test's environment without what would change the CLI's behaviour (colour, CI, any MAINTCTL_ variable). */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of Object.keys(env)) if (name.startsWith('MAINTCTL_') || name === 'CI' || name === 'FORCE_COLOR') delete env[name];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `maintctl ...args` (no state dir added) and resolves when it exits. */
export function run(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: options.env ?? cliEnv(), cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** `maintctl --state-dir DIR ...args`. */
export const maintctlIn = (dir: string, args: string[], env?: NodeJS.ProcessEnv) => run(['--state-dir', dir, ...args], { env });

/** A fresh temporary directory. */
export const tempDir = (prefix = 'maintctl-') => mkdtempSync(join(tmpdir(), prefix));

/** Writes a file in `dir` and returns its path. */
export function writeIn(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A CLI process left running (an agent, a follower): its output line by line, and its end. */
export interface Running {
  lines: string[];
  /** Resolves with the first line matching, once printed (rejects if the process ends first). */
  waitFor(pattern: RegExp): Promise<string>;
  ended(): Promise<number | null>;
  stderr(): string;
  stop(): void;
}

export function start(args: string[], env: NodeJS.ProcessEnv = cliEnv()): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const waiters: Array<() => void> = [];
  let closed = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      closed = true;
      waiters.forEach((w) => w());
      resolve(code);
    }),
  );
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    const parts = (partial + s).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    waiters.forEach((w) => w());
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return {
    lines,
    stderr: () => err,
    ended: () => exit,
    stop: () => void child.kill('SIGTERM'),
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find((l) => pattern.test(l));
          if (found !== undefined) resolve(found);
          else if (closed) reject(new Error(`maintctl ${args.join(' ')} ended without printing ${pattern}: ${lines.join('\n')}\n${err}`));
          else return false;
          return true;
        };
        if (!check()) waiters.push(() => void check());
      }),
  };
}

