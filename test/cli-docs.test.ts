// The shell completions and the man page, checked against the built CLI (run `npm run build`
// first; `npm test` does). bash, zsh, fish and man must be installed: .ci/run installs them, and a
// missing one fails here rather than skipping. --help is read in this process (main() with a
// buffer IO), and so are the sessions the tests need made (test/support/cli-world.ts); the shells,
// man and the terminals run as processes, and so does the `maintctl` on PATH the completions call.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes.js';
import { bufferIO, inCI } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { engineEnded, runInProcess } from './support/cli-world.js';
import { typeInTerminal } from './support/terminal.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'maintctl.js');
const BASH = join(ROOT, 'completions', 'maintctl.bash');
const ZSH = join(ROOT, 'completions', '_maintctl');
const FISH = join(ROOT, 'completions', 'maintctl.fish');
const MAN = join(ROOT, 'man', 'maintctl.1');
const README = join(ROOT, 'README.md');

function sh(cmd: string, args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000, ...options });
  if (r.error) throw r.error;
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Tools found installed: looked for once each. */
const installed = new Set<string>();

function requireTool(name: string): void {
  if (installed.has(name)) return;
  const found = sh('sh', ['-c', `command -v ${name}`]).code === 0;
  if (!found) {
    throw new Error(`${name} is not installed: these tests need bash, zsh, fish and man ` + '(apt-get install zsh fish man-db; .ci/run installs them)');
  }
  installed.add(name);
}

const EXIT_TEXT: Record<keyof typeof EXIT, string> = {
  ok: 'Done',
  error: 'Unexpected error',
  usage: 'Invalid usage or input',
  sessionFailed: 'The session ended MAINTENANCE_FAILED',
  timedOut: '--wait timed out',
  notFound: 'Not found',
  refused: 'Refused',
  cancelled: 'Cancelled',
};
const ENV_VARS = ['MAINTCTL_STATE_DIR', 'XDG_STATE_HOME', 'NO_COLOR', 'CI', 'MAINTCTL_DEBUG', 'MAINTCTL_ENDPOINT', 'MAINTCTL_TOKEN', 'MAINTCTL_LISTEN'];
const STATE_FILES = ['maintctl.db', 'engine.lock', 'engine.log', 'engine.url'];

let rendered: ReturnType<typeof sh> | undefined;

/** The man page as `man` shows it at 80 columns, plus what man and groff said on stderr (rendered once: the page is a file of the checkout). */
function renderMan() {
  requireTool('man');
  rendered ??= sh('man', ['--warnings=w', '-l', '-P', 'cat', MAN], {
    env: { ...process.env, MANWIDTH: '80', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', MANPAGER: 'cat', PAGER: 'cat' },
  });
  return rendered;
}

/** Rendered text with overstrike, Unicode hyphens and line breaks flattened, for searching. */
function flatten(text: string): string {
  return text
    .replace(/.\x08/g, '')
    .replace(/[\u2010\u2011\u2212]/g, '-')
    .replace(/\s+/g, ' ');
}

/** A section of the rendered page, from its heading to the next one. */
function section(text: string, name: string): string {
  const match = new RegExp(`^${name}\\n([\\s\\S]*?)(?=^\\S)`, 'm').exec(`${text}\nEND\n`);
  if (!match) throw new Error(`the man page has no ${name} section`);
  return match[1]!;
}

const hasWord = (text: string, word: string) => new RegExp(`(^|[^\\w-])${word.replace(/[-|]/g, '\\$&')}(?![\\w-])`).test(text);

interface HelpCommand {
  path: string[];
  names: string[];
  longOptions: string[];
}

/** Every command reachable from `maintctl --help` (`help` itself aside), with its long options; read in this process. */
async function helpTree(path: string[] = []): Promise<HelpCommand[]> {
  const io = bufferIO({ COLUMNS: '200' });
  const code = await main([...path, '--help'], io);
  expect(code, `maintctl ${path.join(' ')} --help: ${io.stderr()}`).toBe(0);
  const help = io.stdout();
  const options = help.split(/^Options:$/m)[1]?.split(/^Commands:$/m)[0] ?? '';
  const longOptions = [...options.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!);
  const commands = [...(help.split(/^Commands:$/m)[1] ?? '').matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!.split('|'));
  const self: HelpCommand = { path, names: path.slice(-1), longOptions };
  const children: HelpCommand[] = [];
  for (const names of commands.filter((n) => n[0] !== 'help')) {
    for (const c of await helpTree([...path, names[0]!])) children.push(c.path.length === path.length + 1 ? { ...c, names } : c);
  }
  return [self, ...children];
}

let wholeTree: Promise<HelpCommand[]> | undefined;
/** The whole help tree, read once for all the drift checks. */
const commandTree = () => (wholeTree ??= helpTree());

/** Makes a session in `stateDir` (in this process, its engine too) and follows it to its end; its id. */
async function sessionDone(stateDir: string, cloud: string): Promise<string> {
  const r = await runInProcess(['--state-dir', stateDir, '-o', 'json', 'session', 'create', '--cloud', cloud, '--wait', '--timeout', '30s']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  await engineEnded(stateDir);
  return (JSON.parse(r.stdout) as { session_id: string }).session_id;
}

describe('shell completions', () => {
  it('bash, zsh, fish and man are installed', () => {
    for (const tool of ['bash', 'zsh', 'fish', 'man']) requireTool(tool);
  });

  it('bash -n accepts completions/maintctl.bash', () => {
    requireTool('bash');
    const r = sh('bash', ['-n', BASH]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('zsh -n accepts completions/_maintctl', () => {
    requireTool('zsh');
    const r = sh('zsh', ['-n', ZSH]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('fish --no-execute accepts completions/maintctl.fish', () => {
    requireTool('fish');
    const r = sh('fish', ['--no-execute', FISH]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('man page', () => {
  it('renders at 80 columns without a warning', () => {
    const r = renderMan();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^MAINTCTL\(1\)/);
    const wide = r.stdout.split('\n').filter((line) => line.length > 80);
    expect(wide, 'lines wider than 80 columns').toEqual([]);
  });

  it('names every command, environment variable, exit code and state file', () => {
    const { stdout } = renderMan();
    const page = flatten(stdout);
    for (const command of ['session create', 'session list', 'session ls', 'session show', 'session delete', 'session rm', 'session update', 'demo', 'engine']) {
      expect(hasWord(page, command), `man page names "${command}"`).toBe(true);
    }
    const environment = flatten(section(stdout, 'ENVIRONMENT'));
    for (const name of ENV_VARS) expect(hasWord(environment, name), `ENVIRONMENT lists ${name}`).toBe(true);
    const exits = flatten(section(stdout, 'EXIT STATUS'));
    for (const [key, code] of Object.entries(EXIT)) {
      const text = EXIT_TEXT[key as keyof typeof EXIT];
      expect(exits, `EXIT STATUS describes ${code}`).toContain(` ${code} ${text}`);
    }
    // serve exists: the page says what it answers, and nowhere that there is no server.
    expect(page).toMatch(/reply_url names the Fenix API of the engine running the session: serve/);
    expect(page).not.toMatch(/there is no (HTTP )?server|has no HTTP server/i);
    const files = flatten(section(stdout, 'FILES'));
    for (const name of STATE_FILES) expect(hasWord(files, name), `FILES lists ${name}`).toBe(true);
  });
});

describe('docs follow the CLI (drift check against --help)', () => {
  let tree: HelpCommand[];
  let manPage: string;
  const scripts = { bash: '', zsh: '', fish: '' };
  beforeAll(async () => {
    tree = await commandTree();
    manPage = flatten(renderMan().stdout);
    scripts.bash = readFileSync(BASH, 'utf8');
    scripts.zsh = readFileSync(ZSH, 'utf8');
    scripts.fish = readFileSync(FISH, 'utf8');
  }, 120_000);

  it('finds the commands and options in --help', () => {
    const paths = tree.map((c) => c.path.join(' '));
    expect(paths).toEqual(expect.arrayContaining(['', 'session', 'session create', 'session list', 'session show', 'session delete', 'session update', 'demo', 'engine']));
    expect(paths.some((p) => p.includes('__complete'))).toBe(false);
    expect(tree.find((c) => c.path.join(' ') === 'session create')!.longOptions).toContain('--cloud');
  });

  it('every command and alias is in the man page and every completion script', () => {
    for (const command of tree.filter((c) => c.path.length)) {
      for (const name of command.names) {
        const full = [...command.path.slice(0, -1), name].join(' ');
        expect(hasWord(manPage, full), `man page names "${full}"`).toBe(true);
        for (const [shell, text] of Object.entries(scripts)) expect(hasWord(text, name), `${shell} completion offers "${name}"`).toBe(true);
      }
    }
  });

  it('every long option is in the man page and every completion script', () => {
    for (const command of tree) {
      for (const option of command.longOptions) {
        const where = `${option} of "maintctl ${command.path.join(' ')}"`;
        expect(hasWord(manPage, option), `man page documents ${where}`).toBe(true);
        expect(hasWord(scripts.bash, option), `bash completion offers ${where}`).toBe(true);
        expect(hasWord(scripts.zsh, option), `zsh completion offers ${where}`).toBe(true);
        expect(scripts.fish, `fish completion offers ${where}`).toMatch(new RegExp(`-l ${option.slice(2)}(?![\\w-])`));
      }
    }
  });
});

/** Every `maintctl ...` command line the README shows: in shell blocks, after `$ `, and in inline code. */
function readmeExamples(): string[] {
  const text = readFileSync(README, 'utf8');
  const found: string[] = [];
  for (const block of text.matchAll(/```(\w*)\n([\s\S]*?)```/g)) {
    for (const line of block[2]!.split('\n')) {
      const command = block[1] === 'sh' ? /(?:^|[\s($])maintctl (.*)/.exec(line) : /^\s*\$ maintctl (.*)/.exec(line);
      if (command) found.push(command[1]!);
    }
  }
  for (const inline of text.matchAll(/`maintctl ([^`]+)`/g)) found.push(inline[1]!);
  return found.map((c) => c.replace(/\s+#.*$/, '').replace(/\\\|/g, '|'));
}

describe('README examples follow the CLI (drift check against --help)', () => {
  let tree: HelpCommand[];
  beforeAll(async () => {
    tree = await commandTree();
  }, 120_000);

  /** The command an example runs and the long options it gives, or why it names none. */
  function resolve(example: string): { command: HelpCommand; options: string[] } | string {
    const words = example.split(/\s+/).filter(Boolean);
    const root = tree.find((c) => c.path.length === 0)!;
    let i = 0;
    // Global options first (as `maintctl -o json session list` has them).
    while (i < words.length && words[i]!.startsWith('-')) i += ['-o', '--output', '--state-dir'].includes(words[i]!) ? 2 : 1;
    let command = root;
    for (;;) {
      const child = tree.find((c) => c.path.length === command.path.length + 1 && c.path.join(' ').startsWith(command.path.join(' ')) && c.names.includes(words[i] ?? ''));
      if (!child) break;
      command = child;
      i++;
    }
    const hasVerbs = tree.some((c) => c.path.length === command.path.length + 1 && c.path.join(' ').startsWith(command.path.join(' ')));
    if (hasVerbs && /^[a-z]/.test(words[i] ?? '')) return `unknown command "${[...command.path, words[i]].join(' ')}"`;
    const options = words.flatMap((w) => [...w.matchAll(/(?:^|[[(|])(--[a-z][\w-]*)/g)].map((m) => m[1]!));
    return { command, options: [...new Set(options)] };
  }

  it('finds the examples', () => {
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThan(30);
    expect(examples).toContain('session list');
  });

  it('every command a README example runs exists, with every option it gives', () => {
    const root = tree.find((c) => c.path.length === 0)!;
    for (const example of readmeExamples()) {
      const resolved = resolve(example);
      expect(typeof resolved === 'string' ? resolved : '', `maintctl ${example}`).toBe('');
      if (typeof resolved === 'string') continue;
      const known = new Set([...resolved.command.longOptions, ...root.longOptions, '--help']);
      for (const option of resolved.options) {
        expect(known.has(option), `"maintctl ${example}": ${option} is not an option of "maintctl ${resolved.command.path.join(' ')}"`).toBe(true);
      }
    }
  });
});

describe('the demo and the CI rule, as the README states them', () => {
  const readme = () => flatten(readFileSync(README, 'utf8'));

  it('on a terminal (60x) the demo takes the "about ten seconds" the README says', async () => {
    expect(readme()).toContain('On a terminal it plays at 60x (about ten seconds)');
    // The demo's real-time pauses, added up instead of slept (in this process, its modules shared with the other tests').
    const { runDemo } = await import('../src/cli/demo.js');
    let slept = 0;
    await runDemo({ speed: 60, sleep: async (ms) => void (slept += ms) }, bufferIO());
    expect(slept).toBeGreaterThan(7_000);
    expect(slept).toBeLessThan(13_000);
  });

  it('states the CI rule once, and the CLI follows it: colour on a terminal unless CI is set to anything but empty, false or 0', async () => {
    const rule = '`CI` set to anything but empty, `false` or `0`';
    expect(readme().split(rule).length - 1, 'the README states the CI rule once').toBe(1);
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-ci-'));
    const cloud = join(dir, 'cloud.yaml');
    writeFileSync(cloud, 'hosts: [{name: compute-0, vcpus: 2}]\ntiming: {host_maintenance_s: 0}\n');
    await sessionDone(dir, cloud);
    const values = [[undefined, true], ['', true], ['false', true], ['0', true], ['FALSE', true], ['1', false], ['true', false], ['yes', false]] as const;
    expect(values.map(([ci]) => !inCI({ CI: ci }))).toEqual(values.map(([, colour]) => colour));
    // The built CLI on a terminal follows it: unset, set but false, set.
    const env = { ...process.env, FORCE_COLOR: undefined, NO_COLOR: undefined };
    for (const [ci, colour] of [values[0], values[2], values[5]]) {
      const r = await typeInTerminal(['--state-dir', dir, 'session', 'list'], [], { ...env, CI: ci });
      expect(r.code).toBe(0);
      expect(r.screen.includes('\x1b[32mMAINTENANCE_DONE'), `CI=${String(ci)}`).toBe(colour);
    }
  }, 60_000);
});

describe('completion at work', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maintctl-docs-'));
  const stateDir = join(dir, 'state');
  const binDir = join(dir, 'bin');
  // `maintctl` on PATH, as an installed one would be (the scripts run it for session ids).
  const env = { ...process.env, PATH: `${binDir}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  let sessionId = '';

  beforeAll(async () => {
    mkdirSync(binDir);
    symlinkSync(BIN, join(binDir, 'maintctl'));
    const cloud = join(dir, 'cloud.yaml');
    writeFileSync(
      cloud,
      [
        'hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]',
        'instances: [{name: a-0, project: p, host: compute-0}]',
        'projects: [{id: p, auto_reply: ack, reply_delay_s: 0}]',
        'timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}',
        '',
      ].join('\n'),
    );
    sessionId = await sessionDone(stateDir, cloud);
  }, 120_000);

  /** COMPREPLY of the bash function for the words given (the last one is being completed). */
  function bashComplete(...words: string[]): string[] {
    requireTool('bash');
    const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _maintctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = sh('bash', ['--norc', '--noprofile', '-c', script, 'bash', BASH, ...words], { env, cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  }

  function fishComplete(line: string): string[] {
    requireTool('fish');
    const r = sh('fish', ['--no-config', '-c', `source $argv[1]; complete -C $argv[2]`, FISH, line], { env, cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!);
  }

  it('the maintctl in PATH lists the session for completion', () => {
    const r = sh('maintctl', ['--state-dir', stateDir, '__complete', 'sessions'], { env });
    expect(r.stdout).toBe(`${sessionId}\n`);
  });

  it('bash: commands, verbs, options and values', () => {
    expect(bashComplete('maintctl', '')).toEqual(['session', 'project', 'release', 'cluster', 'notifications', 'store', 'serve', 'demo', 'engine', 'version', 'completion', 'help']);
    expect(bashComplete('maintctl', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(bashComplete('maintctl', 'session', 'sh')).toEqual(['show']);
    expect(bashComplete('maintctl', 'session', '')).toEqual(['create', 'list', 'ls', 'show', 'events', 'delete', 'rm', 'update', 'logs', 'rollback', 'help']);
    expect(bashComplete('maintctl', 'session', 'show', '--w')).toEqual(['--watch']);
    expect(bashComplete('maintctl', 'session', 'create', '--sc')).toEqual(['--scale-in-timeout']);
    expect(bashComplete('maintctl', '-o', '')).toEqual(['table', 'json', 'yaml']);
    expect(bashComplete('maintctl', '--output', '=', 'y')).toEqual(['yaml']);
    expect(bashComplete('maintctl', 'demo', '--cloud', 'clo')).toEqual(['cloud.yaml']);
    expect(bashComplete('maintctl', '--state-dir', 'sta')).toEqual(['state']);
    expect(bashComplete('maintctl', 'session', 'create', '--hosts', '')).toEqual([]);
  });

  it('bash: session ids from the --state-dir on the line', () => {
    expect(bashComplete('maintctl', '--state-dir', stateDir, 'session', 'show', '')).toEqual([sessionId]);
    expect(bashComplete('maintctl', '-o', 'json', '--state-dir', '=', stateDir, 'session', 'rm', sessionId.slice(0, 4))).toEqual([sessionId]);
    expect(bashComplete('maintctl', '--state-dir', stateDir, 'session', 'update', 'zz')).toEqual([]);
    // After the id: options, not another id.
    expect(bashComplete('maintctl', '--state-dir', stateDir, 'session', 'show', sessionId, '')).not.toContain(sessionId);
    // Another state directory has no sessions.
    expect(bashComplete('maintctl', '--state-dir', join(dir, 'empty'), 'session', 'delete', '')).toEqual([]);
  });

  it('fish: verbs, options and session ids', () => {
    expect(fishComplete('maintctl session sh')).toEqual(['show']);
    expect(fishComplete('maintctl session create --sc')).toEqual(['--scale-in-timeout']);
    expect(fishComplete(`maintctl --state-dir '${stateDir}' session show `)).toEqual([sessionId]);
  });
});
