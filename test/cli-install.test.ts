// Install and identity, as a new user meets them: the README's `npm install -g .` puts maintctl on
// the PATH, which then says its version and prints its completion scripts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cliEnv, run, tempDir } from './support/cli.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('npm install -g . (as the README says)', () => {
  const prefix = tempDir('maintctl-prefix-');
  const env = cliEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` });
  const onPath = (...args: string[]) => spawnSync('maintctl', args, { env, encoding: 'utf8', timeout: 30_000 });

  beforeAll(() => {
    // --prefix: a global install of this checkout that touches nothing outside the test's directory.
    const r = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', '.'], { cwd: ROOT, encoding: 'utf8', env, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
  }, 150_000);

  it('puts maintctl on the PATH, and README says that command', () => {
    const r = onPath('--version');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('npm install -g .');
  });

  it('maintctl version says the version, and -o json gives it to scripts', () => {
    expect(onPath('version').stdout).toBe(`maintctl ${pkg.version} (Node.js ${process.version})\n`);
    const r = onPath('-o', 'json', 'version');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ version: pkg.version, node: process.version });
  });

  it('maintctl completion bash|zsh|fish prints the scripts of completions/, loadable by bash', () => {
    const files = { bash: 'maintctl.bash', zsh: '_maintctl', fish: 'maintctl.fish' };
    for (const [shell, file] of Object.entries(files)) {
      expect(onPath('completion', shell).stdout).toBe(readFileSync(join(ROOT, 'completions', file), 'utf8'));
    }
    const loaded = spawnSync('bash', ['--norc', '--noprofile', '-c', 'source <(maintctl completion bash) && complete -p maintctl'], { env, encoding: 'utf8' });
    expect(loaded.stdout).toBe('complete -F _maintctl maintctl\n');
  });
});

describe('completion', () => {
  it('an unknown shell exits 2 naming the shells there are', async () => {
    const r = await run(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maintctl: invalid shell "tcsh": use bash, zsh or fish, e.g. source <(maintctl completion bash)\n');
    expect(r.stdout).toBe('');
  });
});
