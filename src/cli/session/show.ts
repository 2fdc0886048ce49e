// maintctl session show: where a session is, host by host and project by project.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { emit } from '../render/output.js';
import { sessionView } from '../render/session.js';
import { styleFor } from '../render/style.js';
import { isTerminal, type SessionState } from '../../domain/states.js';
import { hintCommand } from '../hint.js';
import { followToEnd } from './follow.js';

export interface ShowOptions {
  id: string;
  instances: boolean;
  watch: boolean;
}

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('show')
    .description('show a session (ID or an unambiguous prefix)')
    .argument('<id>', 'session id or prefix')
    .option('--instances', 'also list every instance with its project, host and action')
    .option('-w, --watch', 'follow the session until it ends (live on a terminal, a line per event otherwise)')
    .action((id: string, flags: { instances?: boolean; watch?: boolean }) =>
      run((deps) => runShow({ id, instances: Boolean(flags.instances), watch: Boolean(flags.watch) }, deps)),
    );
}

export async function runShow(options: ShowOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const id = await client.resolveId(options.id);
  if (options.watch) {
    await followToEnd(id, deps, { instances: options.instances });
    return;
  }
  const doc = await client.showSession(id);
  const idle = !isTerminal(doc.state as SessionState) && !(await client.engineRuns(id));
  emit(deps.io, deps.format, doc, () => {
    const view = sessionView(styleFor(deps.io), doc, deps.clock.now(), { instances: options.instances });
    return idle ? `${view}\n\n${noEngine(deps, id)}` : view;
  });
}

/** An active session nobody runs (the machine restarted, the engine was killed) goes nowhere: say how to go on. */
function noEngine(deps: Deps, id: string): string {
  const short = id.slice(0, 8);
  return (
    `No engine is running this session, so it does not progress. Start one: ${hintCommand(deps, 'engine')} ` +
    `(in the foreground), or ${hintCommand(deps, `session show ${short} --watch`)} (starts one in the background).`
  );
}
