// The team server under a team's load: BENCH_HTTP_SESSIONS sessions (default 20) at once on
// `maintctl serve`, each on its own sim cloud with its own project, whose VNFM talks to the
// server over HTTP only, with its project token: most take webhooks (a receiver in this process)
// and GET their instances and PUT their replies; every BENCH_HTTP_POLL_EVERY-th one (default 4th)
// polls its project document instead. Printed: replies sent / accepted / lost (an accepted reply
// the server's store did not record), the VNFMs' request latency and rate, and the same GETs
// replayed by as many concurrent clients against the server and against a plain node:http server
// answering a fixed JSON (the baseline), in the same run.
//
// serve runs as a child process (the built CLI, as an operator starts it): its event loop is
// its own, so the VNFMs, the webhook receiver and the measuring in this process do not slow it,
// and what is measured crosses a real process boundary. The baseline server is a child process
// too, for the same reason.
//
// Sizes: BENCH_HTTP_SESSIONS (20), BENCH_HTTP_COMPUTES (busy computes per session, 4, each with
// 2 instances, plus a spare), BENCH_HTTP_POLL_EVERY (4), BENCH_HTTP_POLL_MS (poll period, 50),
// BENCH_HTTP_REPLAY (how often the GETs are replayed, 10); BENCH_HTTP_PROF=DIR writes serve's CPU
// profile there.
//
// Run: npm run build && node bench/http.mjs
import { spawn, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { envInt, fixed, machineLine, percentile, printTable } from './format.mjs';

const ADMIN = 'bench-admin-token-0123456789abcdef';

async function main() {
  const support = await import('./support.mjs');
  const sizes = {
    sessions: envInt('BENCH_HTTP_SESSIONS', 20),
    computes: envInt('BENCH_HTTP_COMPUTES', 4),
    pollEvery: envInt('BENCH_HTTP_POLL_EVERY', 4),
    pollMs: envInt('BENCH_HTTP_POLL_MS', 50),
    replay: envInt('BENCH_HTTP_REPLAY', 10),
  };
  const pollers = Math.floor(sizes.sessions / sizes.pollEvery);
  console.log(
    `http: ${sizes.sessions} sessions at once on maintctl serve (child process, loopback, tokens), ${sizes.computes} busy computes + 1 spare each; ` +
      `VNFMs over HTTP: ${sizes.sessions - pollers} by webhook, ${pollers} polling every ${sizes.pollMs} ms`,
  );
  console.log(`${machineLine(support.distDir)}\n`);

  const dir = mkdtempSync(join(tmpdir(), 'maintctl-http-'));
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const failures = [];
  let server = null;
  let receiver = null;
  try {
    const projects = Array.from({ length: sizes.sessions }, (_, i) => project(i, sizes));
    const tokensFile = writeSetup(support, dir, projects, sizes);
    server = await startServe(support.maintctlBin, dir, tokensFile, projects);
    const client = httpClient(server.url, agent);
    receiver = await startReceiver(projects, client);
    const run = await runSessions(client, projects, receiver.url, sizes);
    failures.push(...run.failures);
    // The baseline answers what a project's GET got: a project document of this run.
    const sample = await client.call(null, 'GET', `/v1/maintenance/${projects[0].sessionId}/${projects[0].id}`);
    const served = await replayGets(client.withBase(server.url), projects, sizes.replay);
    const baseline = await startBaseline(JSON.stringify(sample.body));
    const plain = await replayGets(client.withBase(baseline.url), projects, sizes.replay);
    await baseline.stop();
    await server.stop();
    server = null;
    const counted = countReplies(support, join(dir, 'state', 'maintctl.db'), projects, failures);

    console.log(
      `replies sent ${counted.sent}, accepted ${counted.accepted}, lost ${counted.lost} ` +
        `(accepted replies missing from the server's store; the store recorded ${counted.recorded}); sessions ended MAINTENANCE_DONE: ${counted.done}/${projects.length}\n`,
    );
    printTable(
      [
        { title: 'load', value: (r) => r.label, left: true },
        { title: 'requests', value: (r) => r.n },
        { title: 'median ms', value: (r) => fixed(2)(r.median) },
        { title: 'p99 ms', value: (r) => fixed(2)(r.p99) },
        { title: 'max ms', value: (r) => fixed(2)(r.max) },
        { title: 'requests/s', value: (r) => fixed(0)(r.rate) },
      ],
      [
        stats(`maintctl serve, ${projects.length} sessions' VNFMs: all`, run.latencies, run.wallMs),
        stats(`  of which GET`, run.latencies.filter((l) => l.method === 'GET'), run.wallMs),
        stats(`  of which PUT (replies)`, run.latencies.filter((l) => l.method === 'PUT'), run.wallMs),
        stats(`maintctl serve: their GETs x ${sizes.replay}, ${projects.length} clients`, served.latencies, served.wallMs),
        stats(`node:http fixed JSON: the same GETs`, plain.latencies, plain.wallMs),
      ],
    );
    if (counted.lost || counted.done < projects.length) process.exitCode = 1;
  } catch (err) {
    failures.push(`http bench failed: ${err.stack ?? err}`);
  } finally {
    await receiver?.close();
    await server?.stop();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const f of failures) console.error(f);
  if (failures.length) process.exitCode = 1;
}

// ---- setup: one cloud, project and token per session

function project(i, sizes) {
  const n = String(i).padStart(2, '0');
  return {
    id: `proj-${n}`,
    cloud: `c${n}`,
    token: `bench-token-${n}-0123456789abcdef`,
    polls: sizes.pollEvery > 0 && i % sizes.pollEvery === sizes.pollEvery - 1,
    sessionId: null,
    /** Replies PUT: { state, status }. */
    replies: [],
    /** GET paths it asked, in order (replayed later). */
    gets: [],
    latencies: [],
  };
}

/** Cloud files and the tokens file in `dir`; returns the tokens file. */
function writeSetup(support, dir, projects, sizes) {
  for (const p of projects) {
    const cloud = support.uniformCloud({
      computes: sizes.computes,
      spare: 1,
      vcpus: 4,
      perCompute: 2,
      projects: [{ id: p.id, autoReply: 'none' }],
      timing: { migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0 },
    });
    writeFileSync(join(dir, `${p.cloud}.json`), JSON.stringify(cloud));
  }
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ tokens: [{ token: ADMIN, role: 'admin' }, ...projects.map((p) => ({ token: p.token, project: p.id }))] }));
  return file;
}

// ---- maintctl serve, as a child process

function startServe(bin, dir, tokensFile, projects) {
  const args = [bin, '--state-dir', join(dir, 'state'), 'serve', '--port', '0', '--tokens', tokensFile];
  for (const p of projects) args.push('--cloud', `${p.cloud}=${join(dir, `${p.cloud}.json`)}`);
  const child = spawn(process.execPath, [...(process.env.BENCH_HTTP_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_HTTP_PROF] : []), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    // Its log of events goes on after the listening line: read, and dropped.
    child.stdout.on('data', (c) => {
      if (out === null) return;
      out += c;
      const m = /listening on (https?:\/\/\S+)\/v1\/maintenance/.exec(out);
      if (m) {
        out = null;
        resolve({
          url: m[1],
          stop: async () => {
            child.kill('SIGTERM');
            const code = await exited;
            if (code !== 0) throw new Error(`maintctl serve exited ${code}: ${err}`);
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`maintctl serve exited ${code} before listening: ${err}`)));
  });
}

// ---- HTTP, timed

function httpClient(base, agent) {
  const make = (origin) => ({
    /** One request as `who` (a project, or null: admin); its latency is kept when `who` is a project. */
    async call(who, method, path, body) {
      const headers = { 'x-auth-token': who ? who.token : ADMIN, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const t0 = performance.now();
      const r = await request(`${origin}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: agent });
      const text = await r.body.text();
      const ms = performance.now() - t0;
      if (who) {
        who.latencies.push({ method, ms });
        if (method === 'GET' && origin === base) who.gets.push(path);
      }
      return { status: r.statusCode, body: text ? JSON.parse(text) : null, ms };
    },
    withBase: (other) => make(other),
  });
  return make(base);
}

const pathOf = (url) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** The reply a VNFM that agrees sends: ACK, and MIGRATE for each instance it is asked about. */
function ackBody(state, allowedActions, instanceIds) {
  const body = { state: `ACK_${state}` };
  if (allowedActions.includes('MIGRATE')) body.instance_actions = Object.fromEntries(instanceIds.map((id) => [id, 'MIGRATE']));
  return body;
}

async function putReply(client, p, replyPath, body) {
  const r = await client.call(p, 'PUT', replyPath, body);
  p.replies.push({ state: body.state, status: r.status, message: r.body?.error?.message });
}

// ---- the webhook VNFMs: one receiver, a path per project

async function startReceiver(projects, client) {
  const byPath = new Map(projects.map((p) => [`/hook/${p.id}`, p]));
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c)).on('end', () => {
      res.end();
      const p = byPath.get(req.url);
      const payload = JSON.parse(Buffer.concat(chunks).toString()).payload;
      if (p && payload.state !== 'INSTANCE_ACTION_DONE') void answerNotice(client, p, payload);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function answerNotice(client, p, payload) {
  let ids = [];
  if (payload.allowed_actions.includes('MIGRATE')) ids = (await client.call(p, 'GET', pathOf(payload.instance_ids))).body.instance_ids;
  await putReply(client, p, pathOf(payload.reply_url), ackBody(payload.state, payload.allowed_actions, ids));
}

// ---- the polling VNFMs

async function poll(client, p, periodMs) {
  const path = `/v1/maintenance/${p.sessionId}/${p.id}`;
  for (;;) {
    const { status, body: doc } = await client.call(p, 'GET', path);
    if (status === 200 && /MAINTENANCE_(DONE|FAILED)/.test(doc.session_state)) return;
    if (status === 200 && doc.open) await putReply(client, p, path, ackBody(doc.state, doc.allowed_actions, doc.instance_ids));
    else await new Promise((resolve) => setTimeout(resolve, periodMs));
  }
}

// ---- the run

async function runSessions(client, projects, receiverUrl, sizes) {
  const failures = [];
  for (const p of projects) {
    const sub = { event_type: 'maintenance.planned', url: p.polls ? null : `${receiverUrl}/hook/${p.id}` };
    const r = await client.call(null, 'POST', `/v1/projects/${p.id}/subscriptions`, sub);
    if (r.status !== 200) throw new Error(`subscribing ${p.id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const started = performance.now();
  await Promise.all(
    projects.map(async (p) => {
      const r = await client.call(null, 'POST', '/v1/maintenance', { cloud: p.cloud });
      if (r.status !== 200) throw new Error(`creating the session of ${p.id}: ${r.status} ${JSON.stringify(r.body)}`);
      p.sessionId = r.body.session_id;
    }),
  );
  const pollers = projects.filter((p) => p.polls).map((p) => poll(client, p, sizes.pollMs));
  await allEnded(client, projects);
  await Promise.all(pollers);
  const wallMs = performance.now() - started;
  for (const p of projects) for (const r of p.replies.filter((x) => x.status !== 200)) failures.push(`${p.id}: reply ${r.state} answered ${r.status}: ${r.message}`);
  return { wallMs, latencies: projects.flatMap((p) => p.latencies), failures };
}

/** Waits for every session to end, by the admin's long poll of the events (not counted in the figures). */
async function allEnded(client, projects) {
  const open = new Set(projects.map((p) => p.sessionId));
  let after = 0;
  while (open.size) {
    const events = (await client.call(null, 'GET', `/v1/events?after=${after}&wait_ms=5000`)).body;
    for (const e of events) {
      after = Math.max(after, e.id);
      if (e.eventType === 'maintenance.session' && /MAINTENANCE_(DONE|FAILED)/.test(e.payload.state)) open.delete(e.sessionId);
    }
  }
}

/**
 * Replays each project's GETs `repeat` times, the projects side by side (one client each), back
 * to back, after one untimed request per client (so connecting is not what is measured).
 */
async function replayGets(client, projects, repeat) {
  const latencies = [];
  const untimed = { latencies: [], gets: [] };
  const run = (timed) =>
    Promise.all(
      projects.map(async (p) => {
        const who = { token: p.token, latencies: timed ? latencies : untimed.latencies, gets: [] };
        for (const path of timed ? Array.from({ length: repeat }, () => p.gets).flat() : p.gets.slice(0, 1)) {
          const r = await client.call(who, 'GET', path);
          if (r.status !== 200) throw new Error(`replayed GET ${path} answered ${r.status}`);
        }
      }),
    );
  await run(false);
  const started = performance.now();
  await run(true);
  return { latencies, wallMs: performance.now() - started };
}

function startBaseline(body) {
  const child = fork(fileURLToPath(import.meta.url), ['--baseline', body], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', ({ port }) =>
      resolve({
        url: `http://127.0.0.1:${port}`,
        stop: () =>
          new Promise((res) => {
            child.once('exit', res);
            child.send('stop');
          }),
      }),
    );
  });
}

// ---- the figures

/** Replies each VNFM sent and had accepted, against what the server's store recorded. */
function countReplies(support, storePath, projects, failures) {
  const { replies, states } = support.recordedReplies(storePath);
  let sent = 0;
  let accepted = 0;
  let lost = 0;
  let recorded = 0;
  for (const p of projects) {
    const inStore = (replies[p.sessionId] ?? []).filter((r) => r.projectId === p.id).map((r) => r.state);
    recorded += inStore.length;
    const left = [...inStore];
    sent += p.replies.length;
    for (const r of p.replies.filter((x) => x.status === 200)) {
      accepted++;
      const at = left.indexOf(r.state);
      if (at < 0) {
        lost++;
        failures.push(`${p.id}: its accepted reply ${r.state} is not in the store`);
      } else left.splice(at, 1);
    }
  }
  const done = projects.filter((p) => states[p.sessionId] === 'MAINTENANCE_DONE').length;
  for (const p of projects) if (states[p.sessionId] !== 'MAINTENANCE_DONE') failures.push(`${p.id}: its session ended ${states[p.sessionId]}`);
  return { sent, accepted, lost, recorded, done };
}

function stats(label, latencies, wallMs) {
  const sorted = latencies.map((l) => l.ms).sort((a, b) => a - b);
  return { label, n: sorted.length, median: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1), rate: sorted.length / (wallMs / 1000) };
}

// ---- the baseline child: a plain node:http server answering one fixed JSON to every request

if (process.argv[2] === '--baseline') {
  const body = process.argv[3];
  const server = createServer((req, res) => {
    req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body));
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', () => server.close(() => process.disconnect()));
} else {
  await main();
}
