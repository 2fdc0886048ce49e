// maintctl version: which maintctl this is (as `kubectl version` / `gh version`), for people and scripts.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { emit } from './render/output.js';
import type { Run } from './main.js';

/** The version in package.json, read once (the package ships it beside dist/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

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
