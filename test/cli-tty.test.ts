// maintctl on a terminal: the built CLI run in a pseudo-terminal (python's pty module), as a
// person at a shell would see it. The terminal is what these tests are about, so the CLI is a
// process of its own; the rest is set up in this process (the embedded world of
// test/support/cli-world.ts): the state directory's engine runs here, kept running by a session
// planned for 2099, and runs the sessions the terminal's CLI records, as a running engine does for
// any CLI, so that no background engine process starts. A session a test only reads is made here.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWorld, type CliWorld } from './support/cli-world.js';

const BIN = join(__dirname, '..', 'bin', 'maintctl.js');

// Runs argv in a pseudo-terminal; prints everything the terminal showed, exits with its status.
const PTY = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

/** Not blocking this process meanwhile: the server the CLI talks to runs here. */
function inTerminal(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PTY, process.execPath, BIN, ...args], {
      env: { ...process.env, CI: undefined, NO_COLOR: undefined, TERM: 'xterm-256color', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (screen += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

const CLOUD = `
hosts: [{name: ctl-0, type: controller}, {name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0, vcpus: 2}, {name: b-0, project: proj-b, host: compute-1, vcpus: 2}]
projects: [{id: proj-a, auto_reply: ack, reply_delay_s: 0.05}, {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE, reply_delay_s: 0.05}]
timing: {migrate_s: 0.05, live_migrate_s: 0.05, host_maintenance_s: 0.05}
`;

describe('on a terminal', () => {
  let w: CliWorld;
  let cloud: string;
  /** The flags that point the built CLI at this test's server. */
  let flags: string[];
  beforeAll(async () => {
    w = await cliWorld('embedded');
    cloud = w.cloud('cloud.yaml', CLOUD);
    flags = await w.globalFlags();
    const parked = await w.run(['session', 'create', '--cloud', cloud, '--hosts', 'compute-2', '--at', '2099-01-01 00:00:00']);
    expect(parked.code, parked.stderr).toBe(0);
  });
  afterAll(async () => {
    await w?.close(); // deletes the parked session: the engine ends
  });

  it('session create --wait redraws a live table of hosts until the session is done', async () => {
    const { code, screen } = await inTerminal([...flags, 'session', 'create', '--cloud', cloud, '--wait']);
    expect(code).toBe(0);
    const plain = screen.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    expect(plain).toMatch(/HOST\s+TYPE\s+STATE\s+INSTANCES/);
    // Redraws: the cursor goes back up over the previous frame and clears it.
    expect(screen).toMatch(/\x1b\[\d+F\x1b\[0J/);
    expect((plain.match(/HOST\s+TYPE/g) ?? []).length).toBeGreaterThan(2);
    expect(plain).toMatch(/State\s+MAINTENANCE_DONE\s+100% done/);
    expect(plain).toMatch(/compute-2\s+compute\s+MAINTAINED/);
    // The engine running here ran it: the CLI started none in the background (it would log there).
    expect(existsSync(join(w.dir, 'engine.log'))).toBe(false);
  });

  it('with NO_COLOR: no colour and no redraw, one line per event instead', async () => {
    const { code, screen } = await inTerminal([...flags, 'session', 'create', '--cloud', cloud, '--wait'], { NO_COLOR: '1' });
    expect(code).toBe(0);
    expect(screen).not.toMatch(/\x1b\[/);
    expect(screen).toMatch(/session +MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)/);
  });

  it('colours states in session list', async () => {
    // A finished session of its own, made in this process.
    const made = await w.run(['session', 'create', '--cloud', cloud, '--wait', '--timeout', '30s']);
    expect(made.code, made.stderr).toBe(0);
    const { code, screen } = await inTerminal([...flags, 'session', 'list']);
    expect(code).toBe(0);
    expect(screen).toMatch(/\x1b\[32mMAINTENANCE_DONE/);
  });
});
