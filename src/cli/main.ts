// The command table and the one place where errors become exit codes. Command modules are
// imported only when their command runs, so start-up stays fast.
import { Command, CommanderError } from 'commander';
import { RealClock } from '../engine/clock.js';
import type { EngineClient } from '../client/client.js';
import { makeClient } from '../client/factory.js';
import { resolveStateDir } from '../client/state-dir.js';
import type { Deps } from './deps.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { quietSpinner, systemIO, type IO } from './io.js';
import { parseFormat } from './render/output.js';

export type Run = (action: (deps: Deps & { stateDir: string }) => Promise<void>) => Promise<void>;
type Module = { register: (program: Command, run: Run) => void };

const COMMANDS: Record<string, () => Promise<Module>> = {
  session: () => import('./session/index.js'),
  project: () => import('./project/index.js'),
  serve: () => import('./serve.js'),
  demo: () => import('./demo.js'),
  engine: () => import('./engine.js'),
  __complete: () => import('./complete.js'),
};

export async function main(argv: string[], io: IO = systemIO()): Promise<number> {
  const program = new Command('maintctl')
    .description('rolling infrastructure maintenance that asks each application before its instances are touched')
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
      client: () => (client ??= makeClient({ stateDir, env: io.env, endpoint: opts.endpoint, token: opts.token })),
    };
    await action(deps);
  };
  // Only the module of the command asked for is loaded (all of them for help).
  const wanted = Object.keys(COMMANDS).filter((name) => argv.includes(name));
  for (const name of wanted.length ? wanted : Object.keys(COMMANDS)) (await COMMANDS[name]!()).register(program, run);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    return report(err, io);
  } finally {
    (client as EngineClient | null)?.close();
  }
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
