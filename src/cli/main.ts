// The command table and the one place where errors become exit codes. A command's module is
// imported only when that command runs, and the engine client only when a command uses it, so
// `maintctl --help` loads commander alone and `session list` the store, not the engine.
import { Command, CommanderError } from 'commander';
import { RealClock } from '../engine/clock.js';
import type { EngineClient } from '../client/client.js';
import { resolveStateDir } from '../client/state-dir.js';
import type { Deps } from './deps.js';
import { EXIT, exitCodeFor, UsageError } from './exit-codes.js';
import { quietSpinner, systemIO, type IO } from './io.js';
import { parseFormat } from './render/output.js';
import { packageVersion } from './version.js';

export type Run = (action: (deps: Deps & { stateDir: string }) => Promise<void>) => Promise<void>;
type Module = { register: (program: Command, run: Run) => void };

/** Every command: its one-line summary (for `maintctl --help`) and its module, loaded when it runs. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Module> }> = {
  session: { summary: 'create, follow and manage maintenance sessions', load: () => import('./session/index.js') },
  project: { summary: 'what applications see and answer: notifications, questions, replies', load: () => import('./project/index.js') },
  release: { summary: 'releases clusters are updated to: versions, the versions they update from', load: () => import('./release/index.js') },
  cluster: { summary: 'clusters of hosts on a release: status, and the release each host runs', load: () => import('./cluster/index.js') },
  notifications: { summary: 'notifications about clusters, hosts and sessions (discover, done, error, warning)', load: () => import('./notifications.js') },
  store: { summary: 'copy sessions and their history between a state directory and a shared PostgreSQL', load: () => import('./store/index.js') },
  serve: { summary: 'run the engine behind the Fenix REST API (POST/GET /v1/maintenance, ...)', load: () => import('./serve.js') },
  demo: { summary: 'run a complete rolling maintenance on a built-in simulated cloud, shown live', load: () => import('./demo.js') },
  engine: { summary: 'run the sessions of the state directory until none is active (started for you by session create)', load: () => import('./engine.js') },
  version: { summary: 'print the version of maintctl (and of Node.js running it)', load: () => import('./version.js') },
  completion: { summary: 'print the completion script for bash, zsh or fish', load: () => import('./completion.js') },
  __complete: { summary: '', load: () => import('./complete.js') },
};

/** What a caller other than bin/maintctl.js may change: tests run the embedded engine in their own process. */
export interface MainOptions {
  /** Starts the embedded engine for a state directory (default: a background process). */
  startEngine?: (stateDir: string) => void;
}

export async function main(argv: string[], io: IO = systemIO(), options: MainOptions = {}): Promise<number> {
  const program = new Command('maintctl')
    .description('rolling infrastructure maintenance that asks each application before its instances are touched')
    // In `release add NAME --version V`, --version is the release's.
    .version(packageVersion(), argv.includes('release') ? '-V' : '-V, --version', 'print the version and exit')
    .option('-o, --output <format>', 'output format: table, json or yaml', 'table')
    .option('--state-dir <dir>', 'state directory of the embedded engine (default $MAINTCTL_STATE_DIR or $XDG_STATE_HOME/maintctl)')
    .option('--no-color', 'no colour in output')
    .option('--endpoint <url>', 'a maintctl serve (or Fenix API) to work with instead of the state directory (default $MAINTCTL_ENDPOINT)')
    .option('--token <token>', 'the token sent to --endpoint (default $MAINTCTL_TOKEN)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out.write(s),
      writeErr: (s) => io.err.write(s),
      // Usage errors read like every other error: one line, named after the tool.
      outputError: (s, write) => write(`maintctl: ${s.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`),
    });

  let client: EngineClient | null = null;
  const run: Run = async (action) => {
    const opts = program.opts<{ output?: string; stateDir?: string; color?: boolean; endpoint?: string; token?: string }>();
    const stateDir = resolveStateDir(opts.stateDir, io.env);
    const format = parseFormat(opts.output);
    const noColor = opts.color === false;
    const commandIO = noColor ? { ...io, color: false, spinner: quietSpinner } : io;
    const deps = {
      io: commandIO,
      format,
      clock: new RealClock(),
      stateDir,
      endpoint: opts.endpoint,
      client: () =>
        (client ??= lazyClient(
          () => import('../client/factory.js').then((m) => m.makeClient({ stateDir, env: io.env, endpoint: opts.endpoint, token: opts.token, startEngine: options.startEngine })),
          // Only a server answers a long poll; the state directory is read every poll period.
          { longPoll: Boolean(opts.endpoint ?? (io.env.MAINTCTL_ENDPOINT || undefined)) },
        )),
    };
    await action(deps);
  };
  await registerCommands(program, argv, run);
  program.hook('preAction', (_program, command) => refuseEmptyValues(program, command));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    return report(err, io);
  } finally {
    (client as EngineClient | null)?.close();
  }
}

/**
 * The module of the command asked for is loaded and registers itself; without a command (e.g.
 * `maintctl --help`) each command is named with its summary and nothing else is loaded.
 */
async function registerCommands(program: Command, argv: string[], run: Run): Promise<void> {
  const wanted = Object.keys(COMMANDS).filter((name) => argv.includes(name));
  if (wanted.length) {
    for (const name of wanted) (await COMMANDS[name]!.load()).register(program, run);
    return;
  }
  for (const [name, { summary }] of Object.entries(COMMANDS)) {
    if (summary) program.command(name).description(summary);
  }
}

/** An empty argument or option value (`project subscribe ""`, `--url ""`) is never what was meant. */
function refuseEmptyValues(program: Command, command: Command): void {
  const empty = (v: unknown) => typeof v === 'string' && v.trim() === '';
  for (const [i, value] of command.processedArgs.entries()) {
    const arg = command.registeredArguments[i];
    if (empty(value) || (Array.isArray(value) && value.some(empty))) {
      throw new UsageError(`empty ${arg?.name() ?? 'argument'}: give a ${arg?.description || 'value'}`);
    }
  }
  for (const cmd of [program, command]) {
    for (const [key, value] of Object.entries(cmd.opts())) {
      if (!empty(value) && !(Array.isArray(value) && value.some(empty))) continue;
      const option = cmd.options.find((o) => o.attributeName() === key);
      throw new UsageError(`empty value for ${option?.long ?? key}: give a value${option?.long === '--state-dir' ? ', or leave it out for the default' : ''}`);
    }
  }
}

/**
 * The client, made on its first call: its module (the store, better-sqlite3) is imported only by
 * commands that talk to an engine. Every method but close() is async, so each waits for it; its
 * one plain property, longPoll, is known before (only a server answers long polls).
 */
function lazyClient(make: () => Promise<EngineClient>, known: { longPoll: boolean }): EngineClient {
  let made: Promise<EngineClient> | null = null;
  let ready: EngineClient | null = null;
  const get = () => (made ??= make().then((c) => (ready = c)));
  return new Proxy({} as EngineClient, {
    get: (_target, name) => {
      if (name === 'close') return () => ready?.close();
      // Plain properties are known before the client is made (a method stands for anything else).
      if (name === 'longPoll') return known.longPoll;
      if (typeof name !== 'string' || name === 'then') return undefined; // not a promise itself
      return (...args: unknown[]) =>
        get().then((c) => {
          const method = c[name as keyof EngineClient] as ((...a: unknown[]) => unknown) | undefined;
          if (typeof method !== 'function') throw new Error(`internal error: this engine client has no ${name}`);
          return method.apply(c, args);
        });
    },
  });
}

function report(err: unknown, io: IO): number {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; anything else is a usage error already printed.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const code = exitCodeFor(err);
  const message = err instanceof Error ? err.message : String(err);
  io.err.write(`maintctl: ${message}\n`);
  if (code === EXIT.error && err instanceof Error && io.env.MAINTCTL_DEBUG) io.err.write(`${err.stack ?? ''}\n`);
  return code;
}
