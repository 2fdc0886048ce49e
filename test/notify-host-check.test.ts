// A webhook's host is judged again just before each delivery, as when it was subscribed: a name
// pointed at a link-local or metadata address since is refused (the delivery failed, with the
// reason, and nothing sent), unless --allow-webhook-host allowed it; what is sent goes to the
// addresses judged. The resolver is the test's: no real DNS.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { storePath } from '../src/client/state-dir.js';
import { VirtualClock } from '../src/engine/clock.js';
import { Deliverer, httpPoster, type Resolver } from '../src/notify/deliverer.js';
import { EventBus } from '../src/notify/bus.js';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { Store } from '../src/store/store.js';
import { listSubscriptions, subscribe } from '../src/store/subscriptions.js';
import { T0 } from './helpers.js';
import { tempDir } from './support/serve.js';

const LINK_LOCAL = 'a link-local address (169.254.0.0/16, where cloud metadata services answer)';

/** A resolver answering each name's list of answers in turn (the last one again after that). */
function resolverOf(answers: Record<string, string[][]>): { resolve: Resolver; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolve: async (host) => {
      asked.push(host);
      const list = answers[host];
      if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return list.length > 1 ? list.shift()! : list[0]!;
    },
  };
}

/** Delivers two questions to one subscription; returns what was posted and each delivery's row. */
async function deliverTwo(options: { url: string; resolve: Resolver; allowHosts?: string[]; allowedHost?: string }) {
  const store = Store.open(':memory:');
  const clock = new VirtualClock(T0, { auto: false });
  subscribe(store, { projectId: 'proj-a', eventType: 'maintenance.planned', url: options.url, format: 'fenix', sessionId: null, allowedHost: options.allowedHost ?? null }, T0);
  for (const state of ['MAINTENANCE', 'PLANNED_MAINTENANCE']) store.appendEvent(null, T0, 'maintenance.planned', { state, project_id: 'proj-a' });
  const posted: Array<{ state: string; addresses: readonly string[] | undefined }> = [];
  const deliverer = new Deliverer({
    repo: new SqliteRepository(store),
    clock,
    resolve: options.resolve,
    allowHosts: options.allowHosts,
    post: async (_url, body, _timeout, addresses) => {
      posted.push({ state: String((JSON.parse(body) as { payload: { state: string } }).payload.state), addresses });
      return 200;
    },
  });
  deliverer.start(new EventBus());
  await clock.advance(0);
  for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  await deliverer.stop();
  const rows = store.statement('SELECT status, last_error FROM deliveries ORDER BY id').all();
  store.close();
  return { posted, rows };
}

describe('a webhook host at delivery', () => {
  it('is refused once its name resolves to a link-local address: failed with the reason, nothing sent', async () => {
    const { resolve, asked } = resolverOf({ 'vnfm.test': [['192.0.2.10'], ['192.0.2.10', '169.254.169.254']] });
    const { posted, rows } = await deliverTwo({ url: 'http://vnfm.test:8080/hook', resolve });
    expect(asked).toEqual(['vnfm.test', 'vnfm.test']);
    expect(posted).toEqual([{ state: 'MAINTENANCE', addresses: ['192.0.2.10'] }]);
    expect(rows).toEqual([
      { status: 'delivered', last_error: null },
      {
        status: 'failed',
        last_error: `not delivered: refusing webhook host vnfm.test: it is resolved to 169.254.169.254, ${LINK_LOCAL}; if it really is your VNFM, allow it with --allow-webhook-host vnfm.test`,
      },
    ]);
  });

  it.each([
    ['serve --allow-webhook-host', { allowHosts: ['VNFM.test'] }],
    ['the subscription (subscribed with --allow-webhook-host)', { allowedHost: 'vnfm.test' }],
  ])('is let through when allowed by %s', async (_by, allowed) => {
    const { resolve } = resolverOf({ 'vnfm.test': [['169.254.169.254']] });
    const { posted, rows } = await deliverTwo({ url: 'http://vnfm.test/hook', resolve, ...allowed });
    expect(posted.map((p) => p.state)).toEqual(['MAINTENANCE', 'PLANNED_MAINTENANCE']);
    expect(rows).toEqual([{ status: 'delivered', last_error: null }, { status: 'delivered', last_error: null }]);
  });

  it('asks no resolver for an address literal, and sends to a name that does not resolve as before (sending says why it fails)', async () => {
    const literal = resolverOf({});
    expect((await deliverTwo({ url: 'http://127.0.0.1:9/hook', resolve: literal.resolve })).posted).toEqual([
      { state: 'MAINTENANCE', addresses: [] },
      { state: 'PLANNED_MAINTENANCE', addresses: [] },
    ]);
    expect(literal.asked).toEqual([]);
    const unknown = await deliverTwo({ url: 'http://gone.test/hook', resolve: resolverOf({}).resolve });
    expect(unknown.posted.map((p) => p.addresses)).toEqual([[], []]);
  });
});

describe('httpPoster', () => {
  it('connects to the addresses it is given, not to what the name resolves to, and still names the host', async () => {
    const hosts: string[] = [];
    const server = createServer((req, res) => {
      hosts.push(String(req.headers.host));
      req.resume().on('end', () => res.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      // .invalid never resolves (and is not looked up): only the pinned address reaches the receiver.
      expect(await httpPoster(`http://vnfm.invalid:${port}/hook`, '{}', 5000, ['127.0.0.1'])).toBe(200);
      expect(hosts).toEqual([`vnfm.invalid:${port}`]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('project subscribe --allow-webhook-host', () => {
  it('keeps the host it allowed with the subscription, so delivery lets it through too', async () => {
    const dir = tempDir('maintctl-allow-');
    const io = bufferIO({ NO_COLOR: '1' });
    const code = await main(['--state-dir', dir, 'project', 'subscribe', 'proj-a', '--url', 'http://169.254.169.254/hook', '--allow-webhook-host', '169.254.169.254'], io);
    expect(code, io.stderr()).toBe(0);
    const store = Store.open(storePath(dir));
    try {
      expect(listSubscriptions(store).map((s) => s.allowedHost)).toEqual(['169.254.169.254']);
    } finally {
      store.close();
    }
  });
});
