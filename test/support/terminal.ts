// The built CLI on a pseudo-terminal (python's pty module) that types only once it has seen what
// it waits for, as a person at a terminal would.
import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

// Usage: python3 -c PTY_DRIVER '[["text to wait for", "keys to type"], ...]' argv...
// Runs argv in a pseudo-terminal. For each step it reads the screen until the text shows (escape
// sequences removed; each search starts after the previous match), then writes the keys to the
// terminal. Afterwards it reads until the program ends, prints everything the terminal showed, and
// exits with the program's status; 124 (with the reason on stderr) if a step waited 20 s in vain.
const PTY_DRIVER = String.raw`
import json, os, pty, re, select, signal, sys, time

steps = json.loads(sys.argv[1])
argv = sys.argv[2:]
STEP_TIMEOUT = 20.0
ESCAPE = re.compile(rb'\x1b\[[0-9;?]*[ -/]*[@-~]')

pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)

screen = b''

def read_more():
    """Adds what the terminal shows within 100 ms to the screen; False once the program closed it."""
    global screen
    ready, _, _ = select.select([fd], [], [], 0.1)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        return False
    screen += chunk
    return bool(chunk)

def give_up(why):
    sys.stdout.buffer.write(screen)
    sys.stderr.write(why + '\n')
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.exit(124)

seen = 0
for text, keys in steps:
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        at = ESCAPE.sub(b'', screen).find(text.encode(), seen)
        if at >= 0:
            seen = at + len(text.encode())
            break
        if time.monotonic() > deadline:
            give_up('pty: gave up waiting for %r' % text)
        if not read_more():
            give_up('pty: the program ended before showing %r' % text)
    os.write(fd, keys.encode())

deadline = time.monotonic() + STEP_TIMEOUT
while read_more():
    if time.monotonic() > deadline:
        give_up('pty: the program did not end')
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(screen)
sys.exit(os.waitstatus_to_exitcode(status))
`;

export const KEY = { enter: '\r', down: '\x1b[B', ctrlC: '\x03' };

/**
 * Runs `maintctl ...args` in a pseudo-terminal, typing each step's keys once its text is on the
 * screen. `env`: the child's environment (NO_COLOR is removed: colours as a person sees them; the
 * escapes are stripped in `plain`).
 */
export function typeInTerminal(
  args: string[],
  steps: Array<[waitFor: string, keys: string]>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; screen: string; plain: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...env, TERM: 'xterm-256color' };
  delete childEnv.NO_COLOR;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PTY_DRIVER, JSON.stringify(steps), process.execPath, BIN, ...args], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let screen = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (screen += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen, plain: screen.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r/g, ''), stderr }));
  });
}
