// maintctl __complete sessions: what the shell completion scripts ask for (session ids).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { storePath } from '../client/state-dir.js';
import type { Run } from './main.js';

export function register(program: Command, run: Run): void {
  program
    .command('__complete', { hidden: true })
    .argument('<what>', 'sessions')
    .action((what: string) =>
      run(async ({ io, stateDir, client }) => {
        // Never create a store just to complete a word.
        if (what !== 'sessions' || !existsSync(storePath(stateDir))) return;
        for (const s of await client().listSessions()) io.out.write(`${s.session_id}\n`);
      }),
    );
}
