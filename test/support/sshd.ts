// A real OpenSSH server for tests: started on 127.0.0.1 on a free high port with its own config,
// a throwaway host key and client key, key authentication only, for the current user. Debian's
// openssh-server provides it (scripts/test-tools.sh installs it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p)) ?? null;

export interface Sshd {
  dir: string;
  port: number;
  user: string;
  /** The client's private key (its public half is authorised). */
  identityFile: string;
  /** A known_hosts file naming the server's throwaway host key. */
  knownHosts: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);

export async function startSshd(): Promise<Sshd> {
  if (!SSHD) throw new Error('sshd is not installed: run scripts/test-tools.sh (it installs openssh-server)');
  const dir = mkdtempSync(join(tmpdir(), 'maintctl-sshd-'));
  const user = userInfo().username;
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'id_client'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id_client.pub')));
  // As root, sshd separates privileges into this directory (Debian's service creates it at start).
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'AuthenticationMethods publickey',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${user}`,
        '',
      ].join('\n'),
    );
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const listening = await new Promise<boolean>((resolve) => {
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (s: string) => {
        err += s;
        if (err.includes('Server listening on')) resolve(true);
      });
      child.on('exit', () => resolve(false));
    });
    if (!listening) {
      if (attempt < 3) continue; // the port was taken in between: another one
      throw new Error('sshd did not start');
    }
    const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
    return { dir, port, user, identityFile: join(dir, 'id_client'), knownHosts: join(dir, 'known_hosts'), stop: () => stop(child, dir) };
  }
}

function stop(child: ChildProcess, dir: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      rmSync(dir, { recursive: true, force: true });
      resolve();
    };
    if (child.exitCode !== null) return done();
    child.on('exit', done);
    child.kill('SIGTERM');
  });
}
