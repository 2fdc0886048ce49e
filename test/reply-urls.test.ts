// Reply URLs that work: serve --public-url is what notifications carry; in embedded mode the
// background engine serves the API when MAINTCTL_LISTEN is set, and session create warns when
// webhook VNFMs would get a reply URL where nothing listens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storePath } from '../src/client/state-dir.js';
import { bufferIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { defaultPublicUrl } from '../src/cli/serve.js';
import { Store } from '../src/store/store.js';
import { subscribe } from '../src/store/subscriptions.js';
import { SMALL_CLOUD, startServer, tempDir } from './support/serve.js';
import { jsonCall, startVnfm } from './support/vnfm.js';

/** A webhook that keeps what it is sent and tells when the first body came. */
async function capture(): Promise<{ url: string; first: Promise<Record<string, unknown>>; server: Server }> {
  let got!: (body: Record<string, unknown>) => void;
  const first = new Promise<Record<string, unknown>>((resolve) => (got = resolve));
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString())).on('end', () => {
      res.end('OK');
      got(JSON.parse(text) as Record<string, unknown>);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, first, server };
}

function subscribeAll(stateDir: string, url: string, format: 'fenix' | 'aodh' = 'fenix'): void {
  const store = Store.open(storePath(stateDir));
  for (const projectId of ['proj-a', 'proj-b']) subscribe(store, { projectId, eventType: 'maintenance.planned', url, format, sessionId: null }, Date.now());
  store.close();
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('serve --public-url', () => {
  it('is the base of reply_url and instance_ids in notifications', async () => {
    const hook = await capture();
    closers.push(() => new Promise((resolve) => hook.server.close(resolve)));
    const stateDir = tempDir('maintctl-public-');
    subscribeAll(stateDir, hook.url);
    const server = await startServer({ stateDir, publicUrl: 'https://maint.example.org:12347/' });
    closers.push(() => server.stop());
    const created = await jsonCall('POST', `${server.url}/v1/maintenance`, { project_maintenance_reply: 3600 });
    const id = String(created.body.session_id);
    const payload = (await hook.first).payload as Record<string, unknown>;
    const project = String(payload.project_id);
    expect(payload.reply_url).toBe(`https://maint.example.org:12347/v1/maintenance/${id}/${project}`);
    expect(payload.instance_ids).toBe(`https://maint.example.org:12347/v1/maintenance/${id}/${project}`);
    expect(server.io.stdout()).toContain(`(cloud ${join(stateDir, 'cloud.yaml')}, public URL https://maint.example.org:12347)`);
  });

  it('defaults to the listen address, never 0.0.0.0', () => {
    expect(defaultPublicUrl('127.0.0.1', 12347, false)).toBe('http://127.0.0.1:12347');
    expect(defaultPublicUrl('::1', 8443, true)).toBe('https://[::1]:8443');
    expect(defaultPublicUrl('0.0.0.0', 12347, false)).not.toContain('0.0.0.0');
    expect(defaultPublicUrl('::', 12347, false)).toMatch(/^http:\/\/[^[:]+:12347$/);
  });
});

describe('embedded mode and webhook replies', () => {
  async function cli(stateDir: string, env: NodeJS.ProcessEnv, ...args: string[]) {
    const io = bufferIO(env);
    const code = await main(['--state-dir', stateDir, ...args], io);
    return { code, out: io.stdout(), err: io.stderr() };
  }

  it('warns on session create that webhook VNFMs cannot reply, and says how to fix it', async () => {
    const stateDir = tempDir('maintctl-warn-');
    const cloud = join(stateDir, 'cloud.yaml');
    writeFileSync(cloud, SMALL_CLOUD);
    subscribeAll(stateDir, 'http://127.0.0.1:9/hook');
    const r = await cli(stateDir, {}, 'session', 'create', '--cloud', cloud, '--reply-timeout', '1s');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(
      `maintctl: warning: projects with webhooks (proj-a, proj-b) cannot reply over HTTP: nothing serves the reply URL for ${stateDir}; set MAINTCTL_LISTEN=127.0.0.1:12347 for the background engine to serve it, or run maintctl serve on this state directory\n`,
    );
    await cli(stateDir, {}, 'session', 'show', r.out.trim(), '--watch');
  });

  it('with MAINTCTL_LISTEN, the background engine serves the reply URL and a webhook VNFM runs the session to its end', async () => {
    const stateDir = tempDir('maintctl-listen-');
    const cloud = join(stateDir, 'cloud.yaml');
    writeFileSync(cloud, SMALL_CLOUD);
    const vnfm = await startVnfm();
    closers.push(() => vnfm.close());
    subscribeAll(stateDir, vnfm.url, 'aodh');
    const port = await freePort();
    const env = { MAINTCTL_LISTEN: `127.0.0.1:${port}` };
    const created = await cli(stateDir, env, 'session', 'create', '--cloud', cloud);
    expect(created).toMatchObject({ code: 0, err: '' });
    const id = created.out.trim();
    const watched = await cli(stateDir, env, '-o', 'json', 'session', 'show', id, '--watch');
    expect(watched.code, watched.err).toBe(0);
    expect(JSON.parse(watched.out)).toMatchObject({ state: 'MAINTENANCE_DONE' });
    expect(vnfm.seen.length).toBeGreaterThan(3);
    expect(vnfm.seen.every((p) => String(p.reply_url).startsWith(`http://127.0.0.1:${port}/v1/maintenance/${id}/`))).toBe(true);
    expect(vnfm.replies.length).toBeGreaterThan(0);
    expect(vnfm.replies.every((s) => s === 200)).toBe(true);
  });

  it('refuses a MAINTCTL_LISTEN that is not loopback before creating anything', async () => {
    const stateDir = tempDir('maintctl-badlisten-');
    const cloud = join(stateDir, 'cloud.yaml');
    writeFileSync(cloud, SMALL_CLOUD);
    const r = await cli(stateDir, { MAINTCTL_LISTEN: '0.0.0.0:12347' }, 'session', 'create', '--cloud', cloud);
    expect(r).toEqual({ code: 2, out: '', err: 'maintctl: invalid listen address "0.0.0.0:12347": give a loopback HOST:PORT such as 127.0.0.1:12347 (for more, run maintctl serve)\n' });
    // No store was made: listing says so.
    expect((await cli(stateDir, {}, '-o', 'json', 'session', 'list')).code).toBe(5);
  });
});
