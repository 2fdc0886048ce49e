// maintctl completion bash|zsh|fish: prints the completion script shipped in completions/, so it
// can be loaded without knowing where the package is installed (as `gh completion` does).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from './exit-codes.js';
import type { Run } from './main.js';

export const SHELLS = { bash: 'maintctl.bash', zsh: '_maintctl', fish: 'maintctl.fish' } as const;

export function register(program: Command, run: Run): void {
  program
    .command('completion')
    .description('print the completion script for bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) =>
      run(async ({ io }) => {
        const file = SHELLS[shell.toLowerCase() as keyof typeof SHELLS];
        if (!Object.hasOwn(SHELLS, shell.toLowerCase())) {
          throw new UsageError(`invalid shell "${shell}": use bash, zsh or fish, e.g. source <(maintctl completion bash)`);
        }
        io.out.write(readFileSync(new URL(`../../completions/${file}`, import.meta.url), 'utf8'));
      }),
    );
}
