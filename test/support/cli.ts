// The built CLI run as a user runs it: a child process with pipes, or one in a pseudo-terminal
// (python's pty module) that can type into it. `npm run build` first (`npm test` does).
import { spawn, spawnSync } from 'node:child_process';
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

/** The test's environment without what would change the CLI's behaviour (colour, CI, state dir). */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of ['CI', 'FORCE_COLOR', 'MAINTCTL_STATE_DIR', 'MAINTCTL_DEBUG', 'MAINTCTL_CRASH_TEST_HALT_AT']) delete env[name];
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

// Runs argv in a pseudo-terminal and prints everything the terminal showed. With a pattern and
// keys: once the screen shows the pattern, the keys are typed (once).
const PTY = `
import os, pty, sys
pattern, keys = sys.argv[1].encode(), sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[3], sys.argv[3:])
out = b''
sent = not pattern
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not sent and pattern in out:
        os.write(fd, keys)
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

/** Runs `maintctl ...args` on a terminal; `type` sends keys once `after` shows on screen. */
export function inTerminal(args: string[], options: { env?: Record<string, string | undefined>; after?: string; type?: string } = {}) {
  const r = spawnSync('python3', ['-c', PTY, options.after ?? '', options.type ?? '', process.execPath, BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, CI: undefined, NO_COLOR: undefined, TERM: 'xterm-256color', ...options.env },
  });
  return { code: r.status, screen: r.stdout, plain: r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') };
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
