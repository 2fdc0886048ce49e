// maintctl version: which maintctl this is (as `kubectl version` / `gh version`), for people and scripts.
import type { Command } from 'commander';
import { packageVersion } from '../engine/package-version.js';
import { emit } from './render/output.js';
import type { Run } from './main.js';

export { packageVersion };

export function register(program: Command, run: Run): void {
  program
    .command('version')
    .description('print the version of maintctl (and of Node.js running it)')
    .action(() =>
      run(async ({ io, format }) => {
        const doc = { version: packageVersion(), node: process.version };
        emit(io, format, doc, () => `maintctl ${doc.version} (Node.js ${doc.node})`);
      }),
    );
}
