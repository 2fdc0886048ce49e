// The CLI in this process, the way the suites that run twice use it: main() with a buffer IO and a
// real client, either embedded over a temporary state directory (its engine running in this
// process too, instead of a background process) or remote, against a `maintctl serve` on loopback
// over its own state directory. A test asks its world for cloud files and runs commands; what it
// asserts is the same either way, save the few lines where the two must differ (the flags a
// printed hint carries, the store holding the sessions).
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { bufferIO, type IO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { tempDir, type CliResult, type Running } from './cli.js';
import type { RunningServer } from './serve.js';

export type CliMode = 'embedded' | 'remote';
export const CLI_MODES: CliMode[] = ['embedded', 'remote'];

const ADMIN_TOKEN = 'cli-world-admin-token-0123456789';

export interface CliWorld {
  mode: CliMode;
  /** Where the test writes its files (cloud files, requests, hooks). */
  dir: string;
  /** The state directory whose store holds the sessions (the server's, remotely). */
  storeDir: string;
  /** The global flags a hint printed for pasting carries: --state-dir DIR or --endpoint URL. */
  hintFlags(): string;
  /** The global flags that point the built CLI at this world (a child process, e.g. on a terminal). */
  globalFlags(): Promise<string[]>;
  /** Writes a sim cloud file and returns what `session create --cloud` takes for it. */
  cloud(name: string, yaml: string): string;
  /** Runs `maintctl ...args` to its end. */
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** Runs `maintctl ...args` alongside the test (a follower, an agent); it ends as the command does (with its session). */
  start(args: string[], env?: NodeJS.ProcessEnv): Started;
  /** Stops the engine (the server, remotely), runs `meanwhile`, and lets the next command start it afresh. */
  restart(meanwhile: () => void): Promise<void>;
  close(): Promise<void>;
}

/** A command running in this process: nothing can stop it but its own end. */
export interface Started extends Omit<Running, 'stop'> {
  /** Resolves with the next line matching, after the one the previous call took (rejects if the command ends first). */
  next(pattern: RegExp): Promise<RegExpExecArray>;
}

export interface WorldOptions {
  /** Embedded only: how a command starts the engine (default: in this process). A test about a real engine process spawns one. */
  startEngine?: (stateDir: string) => void;
}

export async function cliWorld(mode: CliMode, options: WorldOptions = {}): Promise<CliWorld> {
  return mode === 'embedded' ? embeddedWorld(options.startEngine ?? startEngineHere) : remoteWorld();
}

/**
 * `maintctl ...argv` in this process as a world runs it (main() with a buffer IO, an embedded
 * engine in this process), nothing added: for a test whose argv names its own state directories
 * or stores (`store copy --from --to`, a state directory laid out where a completion test wants it).
 */
export const runInProcess = (argv: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> => runHere(argv, env);

/** The environment a command sees: none of the test process's MAINTCTL_ settings, no colour. */
const commandEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ NO_COLOR: '1', PATH: process.env.PATH, HOME: process.env.HOME, ...extra });

/** State directories whose engine runs in this process, and that engine's end. */
const engines = new Map<string, Promise<void>>();

/**
 * The embedded engine of a state directory, run here until no session is left (as `maintctl engine` would).
 * The engine and the server are loaded when first used, as the CLI loads them: a file that needs neither pays for neither.
 */
function startEngineHere(stateDir: string): void {
  if (engines.has(stateDir)) return;
  const ended = import('../../src/cli/engine.js')
    .then(({ runEngine }) => runEngine({ stateDir, virtualClock: false, haltAt: null }, bufferIO()))
    .finally(() => engines.delete(stateDir));
  engines.set(stateDir, ended);
}

function embeddedWorld(startEngine: (stateDir: string) => void): CliWorld {
  const dir = tempDir('maintctl-world-');
  const flags = ['--state-dir', dir];
  return {
    mode: 'embedded',
    dir,
    storeDir: dir,
    hintFlags: () => `--state-dir ${dir}`,
    globalFlags: async () => flags,
    cloud: (name, yaml) => writeFile(dir, name, yaml),
    run: (args, env) => runHere([...flags, ...args], env, startEngine),
    start: (args, env) => startHere([...flags, ...args], env, startEngine),
    restart: async (meanwhile) => {
      await engines.get(dir); // it ends by itself once no session is active
      meanwhile();
    },
    close: async () => {
      await deleteActive((args) => runHere([...flags, ...args]));
      await engines.get(dir);
    },
  };
}

/**
 * A serve of its own per world. Its clouds are named by their file's path, so `--cloud PATH`
 * reads the same in both modes; a cloud written once the server runs restarts it with that cloud
 * added (the sessions survive in its store, as they do any restart).
 */
function remoteWorld(): CliWorld {
  const dir = tempDir('maintctl-world-');
  const storeDir = join(dir, 'server');
  const tokens = writeFile(dir, 'tokens.json', JSON.stringify({ tokens: [{ token: ADMIN_TOKEN, role: 'admin' }] }));
  const clouds: Record<string, string> = {};
  let server: RunningServer | null = null;
  let served = '';
  const serving = async () => {
    const wanted = JSON.stringify(clouds);
    if (server && served === wanted) return server;
    await server?.stop();
    served = wanted;
    const { startServer } = await import('./serve.js');
    server = await startServer({ stateDir: storeDir, cloud: null, clouds: { ...clouds }, tokens });
    return server;
  };
  const flags = async () => ['--state-dir', join(dir, 'unused'), '--endpoint', (await serving()).url, '--token', ADMIN_TOKEN];
  return {
    mode: 'remote',
    dir,
    storeDir,
    hintFlags: () => `--endpoint ${server?.url ?? '(not started)'}`,
    globalFlags: flags,
    cloud: (name, yaml) => {
      const path = writeFile(dir, name, yaml);
      clouds[path] = path;
      return path;
    },
    run: async (args, env) => runHere([...(await flags()), ...args], env),
    start: (args, env) => startHere(flags().then((f) => [...f, ...args]), env),
    restart: async (meanwhile) => {
      await server?.stop();
      server = null;
      meanwhile();
    },
    close: async () => {
      if (!server) return;
      await deleteActive(async (args) => runHere([...(await flags()), ...args]));
      await server.stop();
    },
  };
}

/** Sessions a test left running (it failed half-way, or let one go on): deleted, so their engine ends. */
async function deleteActive(run: (args: string[]) => Promise<CliResult>): Promise<void> {
  const list = await run(['-o', 'json', 'session', 'list']);
  if (list.code !== 0) return;
  for (const s of JSON.parse(list.stdout) as Array<{ session_id: string; state: string }>) {
    if (!['MAINTENANCE_DONE', 'MAINTENANCE_FAILED'].includes(s.state)) await run(['session', 'delete', s.session_id]);
  }
}

function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function runHere(argv: string[], env?: NodeJS.ProcessEnv, startEngine = startEngineHere): Promise<CliResult> {
  const io = bufferIO(commandEnv(env));
  const code = await main(argv, io, { startEngine });
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

/** An IO whose stdout is told line by line to `onLine`. */
function lineIO(env: NodeJS.ProcessEnv, onLine: (line: string) => void): IO & { stderr(): string } {
  const io = bufferIO(env);
  let partial = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      const parts = (partial + String(chunk)).split('\n');
      partial = parts.pop()!;
      parts.forEach(onLine);
      done();
    },
  });
  return { ...io, out };
}

function startHere(argv: string[] | Promise<string[]>, env?: NodeJS.ProcessEnv, startEngine = startEngineHere): Started {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let closed = false;
  let taken = 0;
  const io = lineIO(commandEnv(env), (line) => {
    lines.push(line);
    waiters.forEach((w) => w());
  });
  const exit = Promise.resolve(argv)
    .then((a) => main(a, io, { startEngine }))
    .finally(() => {
      closed = true;
      waiters.forEach((w) => w());
    });
  /** The first line from `from` on that matches, once printed, and its index. */
  const find = (pattern: RegExp, from: number) =>
    new Promise<[number, RegExpExecArray]>((resolve, reject) => {
      const check = () => {
        for (let i = from; i < lines.length; i++) {
          const m = pattern.exec(lines[i]!);
          if (m) return void (waiters.delete(check), resolve([i, m]));
        }
        if (closed) waiters.delete(check), reject(new Error(`maintctl ended without printing ${pattern}:\n${lines.join('\n')}\n${io.stderr()}`));
      };
      waiters.add(check);
      check();
    });
  return {
    lines,
    stderr: () => io.stderr(),
    ended: () => exit,
    waitFor: async (pattern) => lines[(await find(pattern, 0))[0]]!,
    next: async (pattern) => {
      const [i, m] = await find(pattern, taken);
      taken = i + 1;
      return m;
    },
  };
}

/** Resolves once the engine this process runs for `stateDir` has ended (at once when none runs). */
export const engineEnded = async (stateDir: string): Promise<void> => engines.get(stateDir);
