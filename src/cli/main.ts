// The command table and the one place where errors become exit codes. Command modules are
// imported only when their command runs, so start-up stays fast.
import { Command, CommanderError } from 'commander';
import { EXIT, exitCodeFor, UsageError } from './exit-codes.js';
import { systemIO, type IO } from './io.js';

type Register = (program: Command, run: (action: (io: IO) => Promise<void>) => Promise<void>) => void;

const COMMANDS: Array<{ name: string; load: () => Promise<{ register: Register }> }> = [
  { name: 'demo', load: () => import('./demo.js') },
  { name: 'engine', load: () => import('./engine.js') },
];

export async function main(argv: string[], io: IO = systemIO()): Promise<number> {
  const program = new Command('maintctl')
    .description('rolling infrastructure maintenance that asks each application before its instances are touched')
    .option('--state-dir <dir>', 'state directory of the embedded engine (default $MAINTCTL_STATE_DIR or $XDG_STATE_HOME/maintctl)')
    .option('--no-color', 'no colour in output')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });

  let exitCode: number = EXIT.ok;
  const run = async (action: (io: IO) => Promise<void>) => {
    const opts = program.opts<{ color?: boolean }>();
    await action({ ...io, color: io.color && opts.color !== false });
  };
  const wanted = COMMANDS.filter((c) => argv.includes(c.name) || argv.some((a) => a === '--help' || a === '-h') || argv.length === 0);
  for (const c of wanted.length ? wanted : COMMANDS) (await c.load()).register(program, run);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    exitCode = report(err, io);
  }
  return exitCode;
}

function report(err: unknown, io: IO): number {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; anything else is a usage error.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const code = exitCodeFor(err);
  const message = err instanceof Error ? err.message : String(err);
  io.err.write(`maintctl: ${message}\n`);
  if (code === EXIT.error && err instanceof Error && io.env.MAINTCTL_DEBUG) io.err.write(`${err.stack ?? ''}\n`);
  return code;
}

export { UsageError };
