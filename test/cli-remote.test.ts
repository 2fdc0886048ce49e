// The CLI against a maintctl serve on loopback behaves as it does embedded: the same commands
// give the same output, documents and exit codes. Each scenario runs in this process (main()
// with a buffer IO) twice, embedded over a state directory and remote with --endpoint/--token,
// and the two transcripts must be equal (ids and times aside).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../src/cli/deps.js';
import { bufferIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { followToEnd } from '../src/cli/session/follow.js';
import { RemoteClient } from '../src/client/remote.js';
import { RealClock } from '../src/engine/clock.js';
import { startServer, tempDir, type RunningServer } from './support/serve.js';
import { jsonCall } from './support/vnfm.js';

const CLOUD = `
hosts: [{name: ctl-0, type: controller}, {name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances:
  - {id: a-0-id, name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {id: b-0-id, name: b-0, project: proj-b, host: compute-1, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE, reply_delay_s: 0}
  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE, reply_delay_s: 0}
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;
const ADMIN = 'remote-admin-token-0123456789';

const dir = tempDir('maintctl-remote-');
const cloudFile = join(dir, 'cloud.yaml');
writeFileSync(cloudFile, CLOUD);
let server: RunningServer;

beforeAll(async () => {
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ tokens: [{ token: ADMIN, role: 'admin' }] }));
  server = await startServer({ stateDir: join(dir, 'server'), cloud: null, clouds: { lab: cloudFile }, tokens });
});
afterAll(() => server?.stop());

interface Mode {
  name: string;
  /** Global flags that choose the engine. */
  flags: string[];
  /** How session create names the cloud. */
  cloud: string;
}

const modes = (): Mode[] => [
  { name: 'embedded', flags: ['--state-dir', tempDir('maintctl-embedded-')], cloud: cloudFile },
  { name: 'remote', flags: ['--state-dir', tempDir('maintctl-unused-'), '--endpoint', server.url, '--token', ADMIN], cloud: 'lab' },
];

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIMES = /\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?/g;
/** Reply URLs differ by design: the embedded engine's default address, the server's own. */
const normalise = (text: string) => text.replace(/http:\/\/127\.0\.0\.1:\d+\/v1\//g, '<api>/v1/').replace(UUID, '<id>').replace(/\b[0-9a-f]{8}\b/g, '<short>').replace(TIMES, '<time>');

async function cli(mode: Mode, ...args: string[]) {
  const io = bufferIO({ NO_COLOR: '1' });
  const code = await main([...mode.flags, ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** A whole use of the CLI; returns its transcript. */
async function scenario(mode: Mode): Promise<string[]> {
  const lines: string[] = [];
  const step = async (...args: string[]) => {
    const r = await cli(mode, ...args);
    lines.push(normalise(`$ ${args.join(" ").replace(cloudFile, "CLOUD").replace(/^(.*--cloud) lab/, "$1 CLOUD")} -> ${r.code}\n${r.out}${r.err}`));
    return r;
  };
  const created = await step('-o', 'json', 'session', 'create', '--cloud', mode.cloud, '--wait', '--timeout', '60s');
  if (!created.out) throw new Error(`${mode.name}: ${created.err}`);
  const id = String((JSON.parse(created.out) as { session_id: string }).session_id);
  await step('-o', 'json', 'session', 'list');
  await step('-o', 'json', 'session', 'show', id.slice(0, 8));
  await step('session', 'show', 'ffffffff');
  await step('project', 'show', id.slice(0, 8), 'proj-a', '-o', 'json');
  await step('project', 'reply', id.slice(0, 8), 'proj-a', '--ack');
  await step('project', 'subscribe', 'proj-c', '--url', 'http://ops:s3cret@127.0.0.1:9/hook', '--format', 'aodh');
  await step('project', 'subscribe', 'proj-c', '--url', 'http://169.254.169.254/latest/');
  await step('-o', 'json', 'project', 'subscriptions', 'proj-c');
  await step('project', 'unsubscribe', 'proj-c');
  await step('project', 'subscriptions');
  await step('-o', 'json', 'session', 'delete', id.slice(0, 8));
  await step('session', 'create', '--cloud', mode.cloud, '--max-parallel', 'lots');
  await step('project', 'constrain-group', 'proj-a', 'web', '--max-impacted', '2', '--anti-affinity', '--instances', 'a-0-id');
  await step('project', 'constrain-instance', 'proj-a', 'a-0-id', '--migration-type', 'live_migrate', '--lead-time', '1m');
  await step('-o', 'json', 'project', 'constraints', 'proj-a');
  await step('project', 'constraints', 'proj-a');
  await step('project', 'unconstrain', 'proj-a', '--group', 'nope');
  await step('project', 'unconstrain', 'proj-a', '--group', 'web', '--instance', 'a-0-id');
  await step('project', 'constraints', 'proj-a');
  return lines;
}

describe('the CLI, embedded and remote', () => {
  it('gives the same output and exit codes either way', async () => {
    const [embedded, remote] = modes();
    const a = await scenario(embedded!);
    const b = await scenario(remote!);
    expect(b).toEqual(a);
    // And what they say is right.
    expect(a[0]).toMatch(/^\$ -o json session create --cloud CLOUD --wait --timeout 60s -> 0\n/);
    expect(a[0]).toContain('"state": "MAINTENANCE_DONE"');
    expect(a[3]).toMatch(/-> 5\nmaintctl: no session/);
    expect(a[6]).toContain('http://***@127.0.0.1:9/hook');
    expect(a.map((l) => l.slice(l.indexOf('\n'))).join('\n')).not.toContain('s3cret'); // output, not the command line
    expect(a[7]).toMatch(/-> 2\nmaintctl: refusing webhook host 169\.254\.169\.254/);
    expect(a.at(-5)).toContain('"max_impacted_members": 2');
    expect(a.at(-4)).toMatch(/LIVE_MIGRATE +- +60s/);
    expect(a.at(-3)).toMatch(/-> 5\nmaintctl: project proj-a has no instance group nope/);
    expect(a.at(-2)).toMatch(/-> 0\nremoved from proj-a: group web, instance a-0-id/);
    expect(a.at(-1)).toMatch(/-> 0\nProject proj-a has no constraints\./);
  });

  it('says a token is needed when none is given (exit 6)', async () => {
    const r = await cli({ name: 'remote', flags: ['--endpoint', server.url], cloud: 'lab' }, 'session', 'list');
    expect(r).toEqual({
      code: 6,
      out: '',
      err: 'maintctl: authentication required: send a token in X-Auth-Token or Authorization: Bearer (give --token or MAINTCTL_TOKEN)\n',
    });
  });

  it('takes the endpoint and token from MAINTCTL_ENDPOINT and MAINTCTL_TOKEN', async () => {
    const io = bufferIO({ NO_COLOR: '1', MAINTCTL_ENDPOINT: server.url, MAINTCTL_TOKEN: ADMIN });
    expect(await main(['-o', 'json', 'session', 'list'], io)).toBe(0);
    expect(Array.isArray(JSON.parse(io.stdout()))).toBe(true);
  });

  it('says so when nothing listens at the endpoint (exit 1)', async () => {
    const r = await cli({ name: 'remote', flags: ['--endpoint', 'http://127.0.0.1:9'], cloud: 'lab' }, 'session', 'list');
    expect(r).toEqual({ code: 1, out: '', err: 'maintctl: cannot reach http://127.0.0.1:9: ECONNREFUSED (check --endpoint or MAINTCTL_ENDPOINT)\n' });
  });

  it('refuses --plugin-dir against a server (exit 2), which finds plug-ins in its own state directory, and records nothing', async () => {
    const remote = modes()[1]!;
    const before = await cli(remote, '-o', 'json', 'session', 'list');
    const r = await cli(remote, 'session', 'create', '--cloud', 'lab', '--plugin-dir', tmpdir());
    expect(r).toEqual({ code: 2, out: '', err: "maintctl: --plugin-dir works embedded only: a server runs the plug-ins of its state directory's plugins/ folder\n" });
    expect(await cli(remote, '-o', 'json', 'session', 'list')).toEqual(before);
  });

  it('prints hints that work as pasted: with the --endpoint it was given', async () => {
    const remote = modes()[1]!;
    // A host plug-in that fails fails the session: the hint says how to continue it, on that server.
    const r = await cli(remote, 'session', 'create', '--cloud', 'lab', '--action', 'host:shell:command=false', '--wait');
    expect(r.code, r.err).toBe(3);
    expect(r.err).toMatch(new RegExp(`\\(once the cause is fixed: maintctl --endpoint ${server.url.replace(/[.]/g, '\\.')} session update [0-9a-f]{8}\\)`));
  });
});

describe('the CLI against a plain Fenix server', () => {
  let fenix: Server;
  let url = '';
  const SID = '695030ee-1c4d-11e8-a9b0-0242ac110002';
  const INSTANCES = ['109e14d9-6566-42b3-93e4-76605f264d8f', '71285107-f0fc-4428-a8b2-0b3edd64bcad'];
  let sessionState = 'MAINTENANCE';
  const replies: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    // Fenix's routes only, and its 404 for anything else (an HTML page, no maintctl header).
    fenix = createServer((req, res) => {
      if (req.method === 'GET' && req.url === `/v1/maintenance/${SID}/`) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ session_id: SID, state: sessionState, percent_done: 0 }));
      } else if (req.method === 'GET' && req.url === `/v1/maintenance/${SID}/proj-a`) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ instance_ids: INSTANCES }));
      } else if (req.method === 'PUT' && req.url === `/v1/maintenance/${SID}/proj-a`) {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString())).on('end', () => {
          replies.push(JSON.parse(body) as Record<string, unknown>);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      } else if (req.method === 'DELETE' && req.url === `/v1/maintenance/${SID}`) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>404 Not Found</body></html>');
    });
    await new Promise<void>((resolve) => fenix.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(fenix.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => fenix.close(() => resolve())));

  const mode = (): Mode => ({ name: 'fenix', flags: ['--endpoint', url], cloud: 'x' });

  it.each([
    [['session', 'list'], 'GET /v1/sessions'],
    [['session', 'show', '695030ee'], 'GET /v1/sessions/by-prefix/695030ee'],
    [['project', 'subscriptions', 'proj-a'], 'GET /v1/projects/proj-a/subscriptions'],
  ])('%j: says the server does not offer it (exit 2)', async (args, route) => {
    const r = await cli(mode(), ...args);
    expect(r).toEqual({ code: 2, out: '', err: `maintctl: the server at ${url} does not offer ${route} (a Fenix API without maintctl's additions): this command needs maintctl serve\n` });
  });

  it('shows a project its instances and sends its replies through the Fenix routes', async () => {
    // Fenix says which instances, not their names, hosts or the deadline: the question is the session's state.
    const shown = await cli(mode(), '-o', 'json', 'project', 'show', SID, 'proj-a');
    expect(shown.code, shown.err).toBe(0);
    expect(JSON.parse(shown.out)).toMatchObject({ session_id: SID, project_id: 'proj-a', state: 'MAINTENANCE', open: true, instance_ids: INSTANCES, allowed_actions: [] });
    expect(await cli(mode(), 'project', 'reply', SID, 'proj-a', '--ack')).toEqual({ code: 0, out: `replied ACK_MAINTENANCE for proj-a in session ${SID}\n`, err: '' });
    sessionState = 'PLANNED_MAINTENANCE';
    const planned = await cli(mode(), 'project', 'reply', SID, 'proj-a', '--ack', '--all-actions', 'LIVE_MIGRATE');
    expect(planned.code, planned.err).toBe(0);
    expect(replies).toEqual([
      { state: 'ACK_MAINTENANCE' },
      { state: 'ACK_PLANNED_MAINTENANCE', instance_actions: Object.fromEntries(INSTANCES.map((id) => [id, 'LIVE_MIGRATE'])) },
    ]);
  });

  it('deletes a session through the Fenix route', async () => {
    const r = await cli(mode(), '-o', 'json', 'session', 'delete', SID);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ session_id: SID, reenabled: [] });
  });
});

describe('following a session on a server', () => {
  /** An undici Agent that logs each request's path, and what the follower had printed when it was sent. */
  class LoggingAgent extends Agent {
    readonly log: Array<{ path: string; printed: string }> = [];
    private waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];

    constructor(private readonly printed: () => string) {
      super();
    }

    override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      this.log.push({ path: options.path, printed: this.printed() });
      for (const w of this.waiters.filter((x) => x.ready())) this.waiters.splice(this.waiters.indexOf(w), 1), w.resolve();
      return super.dispatch(options, handler);
    }

    /** Resolves once a request from index `from` on matches. */
    until(from: number, pattern: RegExp): Promise<{ path: string; printed: string }> {
      const found = () => this.log.slice(from).find((r) => pattern.test(r.path));
      return new Promise((resolve) => {
        const ready = () => found() !== undefined;
        if (ready()) resolve(found()!);
        else this.waiters.push({ ready, resolve: () => resolve(found()!) });
      });
    }
  }

  it('waits on the long poll: an event pushed while it waits is printed before any new request', async () => {
    const follower = await startServer();
    try {
      const api = (method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown) => jsonCall(method, `${follower.url}${path}`, body);
      for (const p of ['proj-a', 'proj-b']) expect((await api('POST', `/v1/projects/${p}/subscriptions`, {})).status).toBe(200);
      const sid = String((await api('POST', '/v1/maintenance', { project_maintenance_reply: 3600 })).body.session_id);
      // Until proj-a is asked (the admin's own long poll).
      for (let after = 0, asked = false; !asked; ) {
        const events = (await jsonCall('GET', `${follower.url}/v1/sessions/${sid}/events?after=${after}&wait_ms=10000`)).body as unknown as Array<{ id: number; eventType: string; payload: Record<string, unknown> }>;
        asked = events.some((e) => e.eventType === 'maintenance.planned' && e.payload.project_id === 'proj-a');
        after = events.at(-1)?.id ?? after;
      }

      const io = bufferIO({ NO_COLOR: '1' });
      const agent = new LoggingAgent(() => io.stdout());
      const client = new RemoteClient({ endpoint: follower.url, dispatcher: agent });
      const deps: Deps = { io, format: 'table', clock: new RealClock(), client: () => client };
      const watching = followToEnd(sid, deps);
      watching.catch(() => undefined); // (its failure is awaited below; a test failing first must not leave it unhandled)
      await agent.until(0, /\/events\?after=\d+&wait_ms=10000$/);
      const mark = agent.log.length;
      expect((await api('PUT', `/v1/maintenance/${sid}/proj-a`, { state: 'ACK_MAINTENANCE' })).status).toBe(200);
      // The follower had printed the reply when it next asked for events: the waiting request brought it.
      const next = await agent.until(mark, /\/events/);
      expect(next.printed).toMatch(/reply +proj-a ACK_MAINTENANCE\n/);

      // The rest is answered by each project's agent; the follower sees the end.
      const agentRun = (project: string) => main(['--endpoint', follower.url, 'project', 'agent', project, '--session', sid], bufferIO({ NO_COLOR: '1' }));
      expect(await Promise.all([agentRun('proj-a'), agentRun('proj-b'), watching])).toEqual([0, 0, undefined]);
      expect(io.stdout()).toMatch(/MAINTENANCE_DONE/);
      const reads = agent.log.filter((r) => r.path.includes('/events'));
      // The first read takes the history at once, and so does the last (the session has ended); every other one is a long poll.
      expect(reads[0]!.path).toBe(`/v1/sessions/${sid}/events?after=0`);
      expect(reads.at(-1)!.path).toMatch(/\/events\?after=\d+$/);
      expect(reads.slice(1, -1).filter((r) => !/&wait_ms=10000$/.test(r.path))).toEqual([]);
    } finally {
      await follower.stop();
    }
  });
});
