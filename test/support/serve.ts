// `maintctl serve` for the HTTP tests: in this process on loopback (any free port) over a
// temporary state directory and a small sim cloud (`stop()` shuts it down as SIGTERM would), or
// as a child process for what needs one (signals, exit codes).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bufferIO } from '../../src/cli/io.js';
import { runServe, type ServeOptions } from '../../src/cli/serve.js';

export const SMALL_CLOUD = `
hosts: [{name: ctl-0, type: controller}, {name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-2, vcpus: 1}
timing: {migrate_s: 0.05, live_migrate_s: 0.05, host_maintenance_s: 0.05}
`;

export interface RunningServer {
  /** http(s)://127.0.0.1:PORT */
  url: string;
  port: number;
  stateDir: string;
  io: ReturnType<typeof bufferIO>;
  stop(): Promise<void>;
}

export const tempDir = (prefix = 'maintctl-') => mkdtempSync(join(tmpdir(), prefix));

export async function startServer(options: Partial<ServeOptions> & { cloudYaml?: string } = {}): Promise<RunningServer> {
  const stateDir = options.stateDir ?? tempDir('maintctl-serve-');
  mkdirSync(stateDir, { recursive: true });
  const cloud = options.cloud === undefined ? join(stateDir, 'cloud.yaml') : options.cloud;
  if (options.cloud === undefined) writeFileSync(cloud!, options.cloudYaml ?? SMALL_CLOUD);
  const io = bufferIO();
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  let listening!: (url: string) => void;
  const ready = new Promise<string>((resolve) => (listening = resolve));
  const done = runServe({ host: '127.0.0.1', port: 0, ...options, stateDir, cloud, until, onListening: listening }, io);
  const url = await Promise.race([ready, done.then(() => Promise.reject(new Error(`serve ended: ${io.stderr()}`)))]);
  return {
    url,
    port: Number(new URL(url).port),
    stateDir,
    io,
    stop: async () => {
      stop();
      await done;
    },
  };
}

const BIN = join(__dirname, '..', '..', 'bin', 'maintctl.js');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Resolves when stdout has printed a line matching `pattern`. */
  printed(pattern: RegExp): Promise<string>;
  /** What it printed on stdout so far. */
  output(): string;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** `maintctl serve` as a child process (built CLI), for signals and exit codes. */
export async function spawnServe(stateDir: string, args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, '--state-dir', stateDir, 'serve', '--port', '0', ...args]);
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    for (const w of [...waiters]) {
      const m = w.pattern.exec(stdout);
      if (m) waiters.splice(waiters.indexOf(w), 1), w.resolve(m[0]);
    }
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  const printed = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const m = pattern.exec(stdout);
      if (m) return resolve(m[0]);
      waiters.push({ pattern, resolve });
      void exited.then((e) => reject(new Error(`serve exited ${e.code} before printing ${pattern}: ${e.stdout}${e.stderr}`)));
    });
  const line = await printed(/listening on (https?:\/\/\S+)\/v1\/maintenance/);
  const url = /listening on (https?:\/\/\S+)\/v1\/maintenance/.exec(line)![1]!;
  return { child, url, port: Number(new URL(url).port), printed, output: () => stdout, exited };
}
