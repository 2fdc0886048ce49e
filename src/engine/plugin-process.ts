// One plug-in process: started in its own process group with the contract on stdin, its output
// kept (the last part of it), killed with its whole group when it runs past its timeout or the
// session stops. A pid file in the session's work directory lets a restarted engine kill a run
// left over from a crashed one before running the plug-in again.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock, Timer } from '../domain/clock.js';

/** The most output kept per run: the last MiB (in characters). */
export const OUTPUT_LIMIT = 1024 * 1024;
/** How often the output so far is handed on while a plug-in runs (ms). */
const OUTPUT_FLUSH_MS = 250;
/** After SIGTERM, how long the group has before SIGKILL (ms). */
const KILL_GRACE_MS = 5_000;
/** After the process exited, how long its pipes may stay open (a daemon it left behind) before they are closed (ms). */
const PIPE_GRACE_MS = 2_000;

export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  stdin: string;
  cwd: string;
  timeoutMs: number;
  /** Where the run's pid is kept while it runs. */
  pidFile: string;
  /** Real time: a process runs in it whatever the session's clock is. */
  clock: Clock;
  /** Aborting kills the process group (the session stopped or was deleted). */
  signal?: AbortSignal;
  /** The output so far (the kept part) and how much was written in all, every OUTPUT_FLUSH_MS. */
  onOutput?: (output: string, chars: number) => void;
}

export interface ProcessOutcome {
  /** null when killed by a signal or never started. */
  exitStatus: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Why it could not be started (e.g. not executable). */
  startError: string | null;
  output: string;
  outputChars: number;
}

/** The last OUTPUT_LIMIT characters of what a process wrote. */
export class OutputTail {
  text = '';
  chars = 0;

  constructor(private readonly limit = OUTPUT_LIMIT) {}

  add(chunk: string): void {
    this.chars += chunk.length;
    this.text = chunk.length >= this.limit ? chunk.slice(-this.limit) : (this.text + chunk).slice(-this.limit);
  }
}

export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  killLeftover(spec.pidFile);
  return new Promise((resolve) => {
    const tail = new OutputTail();
    let timedOut = false;
    let settled = false;
    const timers: Timer[] = [];
    let flush: Timer | null = null;
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const done = (outcome: Omit<ProcessOutcome, 'output' | 'outputChars' | 'timedOut'>) => {
      if (settled) return;
      settled = true;
      for (const t of timers) t.cancel();
      flush?.cancel();
      spec.signal?.removeEventListener('abort', abort);
      rmSync(spec.pidFile, { force: true });
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ ...outcome, timedOut, output: tail.text, outputChars: tail.chars });
    };
    const killGroup = () => {
      signalGroup(child.pid, 'SIGTERM');
      timers.push(spec.clock.at(spec.clock.now() + KILL_GRACE_MS, () => signalGroup(child.pid, 'SIGKILL')));
    };
    const abort = () => killGroup();
    child.on('error', (err) => done({ exitStatus: null, signal: null, startError: err.message }));
    if (child.pid === undefined) return; // 'error' follows
    writePidFile(spec.pidFile, child.pid);
    spec.signal?.addEventListener('abort', abort);
    if (spec.signal?.aborted) abort();
    const take = (chunk: Buffer) => {
      tail.add(chunk.toString('utf8'));
      if (spec.onOutput && !flush) {
        flush = spec.clock.at(spec.clock.now() + OUTPUT_FLUSH_MS, () => {
          flush = null;
          if (!settled) spec.onOutput?.(tail.text, tail.chars);
        });
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    // A plug-in need not read its stdin: writing to a closed pipe is not an error of the run.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.stdin);
    timers.push(
      spec.clock.at(spec.clock.now() + spec.timeoutMs, () => {
        timedOut = true;
        killGroup();
      }),
    );
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      // Anything it left in its group goes with it; pipes held open by such a process are closed shortly.
      signalGroup(child.pid, 'SIGKILL');
      timers.push(spec.clock.at(spec.clock.now() + PIPE_GRACE_MS, () => done({ exitStatus: code, signal, startError: null })));
    });
    child.on('close', (code, signal) => done({ exitStatus: exited?.code ?? code, signal: exited?.signal ?? signal, startError: null }));
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** The pid and its start time (Linux: /proc), so a pid reused by another process is never killed. */
function writePidFile(path: string, pid: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${pid} ${startTime(pid) ?? ''}\n`);
}

function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** A run of this plug-in left by an engine that died: its process group is killed first. */
function killLeftover(pidFile: string): void {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return;
  }
  const [pidText, started] = text.trim().split(' ');
  const pid = Number(pidText);
  if (Number.isInteger(pid) && pid > 1 && (!started || startTime(pid) === started)) signalGroup(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
}
