// maintctl on a terminal: the built CLI run in a pseudo-terminal (python's pty module), as a
// person at a shell would see it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

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

function inTerminal(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync('python3', ['-c', PTY, process.execPath, BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: undefined, NO_COLOR: undefined, TERM: 'xterm-256color', ...env },
  });
  return { code: r.status, screen: r.stdout };
}

const CLOUD = `
hosts: [{name: ctl-0, type: controller}, {name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0, vcpus: 2}, {name: b-0, project: proj-b, host: compute-1, vcpus: 2}]
projects: [{id: proj-a, auto_reply: ack, reply_delay_s: 0.05}, {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE, reply_delay_s: 0.05}]
timing: {migrate_s: 0.05, live_migrate_s: 0.05, host_maintenance_s: 0.05}
`;

describe('on a terminal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maintctl-tty-'));
  const cloud = join(dir, 'cloud.yaml');
  writeFileSync(cloud, CLOUD);

  it('session create --wait redraws a live table of hosts until the session is done', () => {
    const { code, screen } = inTerminal(['--state-dir', dir, 'session', 'create', '--cloud', cloud, '--wait']);
    expect(code).toBe(0);
    const plain = screen.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    expect(plain).toMatch(/HOST\s+TYPE\s+STATE\s+INSTANCES/);
    // Redraws: the cursor goes back up over the previous frame and clears it.
    expect(screen).toMatch(/\x1b\[\d+F\x1b\[0J/);
    expect((plain.match(/HOST\s+TYPE/g) ?? []).length).toBeGreaterThan(2);
    expect(plain).toMatch(/State\s+MAINTENANCE_DONE\s+100% done/);
    expect(plain).toMatch(/compute-2\s+compute\s+MAINTAINED/);
  });

  it('with NO_COLOR: no colour and no redraw, one line per event instead', () => {
    const { code, screen } = inTerminal(['--state-dir', dir, 'session', 'create', '--cloud', cloud, '--wait'], { NO_COLOR: '1' });
    expect(code).toBe(0);
    expect(screen).not.toMatch(/\x1b\[/);
    expect(screen).toMatch(/session +MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)/);
  });

  it('colours states in session list', () => {
    const { code, screen } = inTerminal(['--state-dir', dir, 'session', 'list']);
    expect(code).toBe(0);
    expect(screen).toMatch(/\x1b\[32mMAINTENANCE_DONE/);
  });
});
