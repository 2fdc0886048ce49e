// Exit 1 is for what the user could not have foreseen: said in one line, with what to do.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(__dirname, '..', 'bin', 'maintctl.js');

describe('unexpected errors', () => {
  it('exit 1 with one line naming the state directory when the store cannot be opened', () => {
    const r = spawnSync(process.execPath, [BIN, '--state-dir', '/dev/null/maintctl', 'session', 'list'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^maintctl: cannot open the store in \/dev\/null\/maintctl: .*ENOTDIR.* \(choose another with --state-dir or MAINTCTL_STATE_DIR\)\n$/);
  });

  it('print the stack as well with MAINTCTL_DEBUG set', () => {
    const r = spawnSync(process.execPath, [BIN, '--state-dir', '/dev/null/maintctl', 'session', 'list'], {
      encoding: 'utf8',
      env: { ...process.env, MAINTCTL_DEBUG: '1' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n').length).toBeGreaterThan(3);
    expect(r.stderr).toMatch(/at EmbeddedClient\.store/);
  });
});
