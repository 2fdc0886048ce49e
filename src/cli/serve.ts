// maintctl serve: the engine behind the Fenix REST API, for VNFMs that answer over HTTP and for
// the CLI elsewhere (--endpoint). Safe to run for a team: tokens or Keystone, Host allow-list,
// bounded bodies, optional TLS; a non-loopback listen without authentication is refused.
import { statePlugins } from '../client/state-plugins.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { Authenticator } from '../api/auth.js';
import { hostName } from '../api/http.js';
import { advertiseUrl, releaseEngineLock, takeEngineLock, withdrawUrl } from '../client/background.js';
import { storePath } from '../client/state-dir.js';
import { RefusedError } from '../domain/errors.js';
import type { DriverSpec } from '../domain/model.js';
import { RealClock } from '../engine/clock.js';
import { Engine, SHARED_LEASE_MS, WATCH_MS } from '../engine/engine.js';
import { importCloud, readCloudFile } from '../infra/sim/cloud-file.js';
import { openSharedStore, redactStoreUrl, storeUrlProblem } from '../store/open-repository.js';
import { Store } from '../store/store.js';
import { UsageError } from './exit-codes.js';
import { collect } from './flags.js';
import type { IO } from './io.js';
import type { Run } from './main.js';
import { eventLine, namesIn } from './render/event-line.js';

export interface ServeOptions {
  stateDir: string;
  /** The default infrastructure: openstack[:NAME] or a sim cloud file (null: a create must name one). */
  cloud: string | null;
  /** Named infrastructures (--cloud NAME=FILE), chosen with session create --cloud NAME. */
  clouds?: Record<string, string>;
  /** Webhook hosts allowed although link-local or metadata. */
  allowWebhookHosts?: string[];
  host: string;
  port: number;
  /** A tokens file (admin and project tokens); re-read on SIGHUP. */
  tokens?: string;
  /** `keystone`: tokens checked against the cloud's Keystone. */
  auth?: 'keystone';
  /** What reply_url and instance_ids URLs carry (default: the listen address). */
  publicUrl?: string;
  maxBody?: number;
  tlsCert?: string;
  tlsKey?: string;
  /** Resolves when the server should stop (SIGINT/SIGTERM by default). */
  until?: Promise<void>;
  /** Checks tokens instead of the one --tokens or --auth would make (tests in this process). */
  authenticator?: Authenticator;
  /** Told the base URL once the server listens (tests in this process). */
  onListening?: (url: string) => void;
  /** How long in-flight requests may take to finish at shutdown. */
  drainMs?: number;
  /** A shared store (postgres://...) instead of the state directory's: several replicas can serve it. */
  store?: string;
  /** How long a replica's hold on a session lasts unrenewed, in ms: another takes the session over after it. */
  leaseTimeMs?: number;
}

interface ServeFlags {
  cloud: string[];
  allowWebhookHost: string[];
  host: string;
  port: string;
  tokens?: string;
  auth?: string;
  publicUrl?: string;
  maxBody: string;
  tlsCert?: string;
  tlsKey?: string;
  store?: string;
  leaseTime: string;
}


export function register(program: Command, run: Run): void {
  program
    .command('serve')
    .description('run the engine behind the Fenix REST API (POST/GET /v1/maintenance, ...)')
    .option('--cloud <[NAME=]openstack[:name]|file>', 'the cloud sessions created through the API maintain; NAME=...: one chosen with session create --cloud NAME (repeatable)', collect, [])
    .option('--host <address>', 'address to listen on (not loopback: needs --tokens or --auth keystone)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free one)', '12347')
    .option('--tokens <file>', 'admin and project tokens, JSON {"tokens": [{"token": ..., "role": "admin"}, {"token": ..., "project": ...}]} (re-read on SIGHUP)')
    .option('--auth <keystone>', "check X-Auth-Token against the cloud's Keystone")
    .option('--public-url <url>', 'the URL VNFMs reach this server at, for reply_url and instance_ids (default: the listen address)')
    .option('--max-body <bytes>', 'largest request body accepted', String(1024 * 1024))
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--allow-webhook-host <host>', 'let subscriptions reach this host although it is link-local or a metadata service (repeatable)', collect, [])
    .option('--store <url>', 'keep sessions in this shared PostgreSQL, postgres://USER@HOST/DB, so several replicas can serve them (default $MAINTCTL_STORE, else the state directory)')
    .option('--lease-time <seconds>', 'how long a replica holds a session without renewing: a dead replica\'s sessions are taken over after it', String(SHARED_LEASE_MS / 1000))
    .action((flags: ServeFlags) =>
      run(({ io, stateDir }) => runServe(serveOptions({ ...flags, store: flags.store ?? (io.env.MAINTCTL_STORE || undefined) }, stateDir), io)),
    );
}

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;
const WILDCARD_HOST = /^(0\.0\.0\.0|::|)$/;

/** Flags to options; every mistake is a usage error before anything listens. */
export function serveOptions(flags: ServeFlags, stateDir: string): ServeOptions {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid --port "${flags.port}": give a port number`);
  const maxBody = Number(flags.maxBody);
  if (!Number.isInteger(maxBody) || maxBody < 1) throw new UsageError(`invalid --max-body "${flags.maxBody}": give a number of bytes`);
  if (flags.auth !== undefined && flags.auth !== 'keystone') throw new UsageError(`invalid --auth "${flags.auth}": the only one is keystone`);
  const { cloud, clouds } = parseClouds(flags.cloud);
  if (flags.auth && !/^openstack(:|$)/.test(cloud ?? '')) throw new UsageError('--auth keystone asks the Keystone of --cloud openstack[:NAME]: give an OpenStack cloud, or use --tokens FILE');
  if (flags.auth && flags.tokens) throw new UsageError('give --tokens or --auth keystone, not both');
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together: give both');
  if (!LOOPBACK_HOST.test(flags.host) && !flags.tokens && !flags.auth) {
    throw new UsageError(
      `refusing to listen on ${flags.host || 'every address'} without authentication: add --tokens FILE or --auth keystone (or listen on 127.0.0.1)`,
    );
  }
  if (flags.publicUrl !== undefined) publicHost(flags.publicUrl);
  const problem = flags.store === undefined ? null : storeUrlProblem(flags.store);
  if (problem) throw new UsageError(problem);
  return {
    stateDir,
    cloud,
    clouds,
    allowWebhookHosts: flags.allowWebhookHost,
    host: flags.host,
    port,
    tokens: flags.tokens,
    auth: flags.auth as 'keystone' | undefined,
    publicUrl: flags.publicUrl,
    maxBody,
    tlsCert: flags.tlsCert,
    tlsKey: flags.tlsKey,
    store: flags.store,
    leaseTimeMs: leaseTime(flags.leaseTime),
  };
}

/** --lease-time in seconds (fractions allowed: tests use short leases) to ms. */
export function leaseTime(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds < 0.5 || seconds > 3600) {
    throw new UsageError(`invalid --lease-time "${value}": give seconds from 0.5 to 3600`);
  }
  return Math.round(seconds * 1000);
}

/** --cloud values: one without a name is the default, NAME=... are named. */
function parseClouds(values: string[]): { cloud: string | null; clouds: Record<string, string> } {
  if (!values.length) throw new UsageError('give --cloud openstack[:NAME] or --cloud FILE (a sim cloud file): the infrastructure sessions maintain');
  const bare = values.filter((v) => !/^[\w.-]+=/.test(v));
  if (bare.length > 1) throw new UsageError(`more than one default --cloud (${bare.join(', ')}): name the others, --cloud NAME=FILE`);
  const clouds: Record<string, string> = {};
  for (const v of values.filter((x) => /^[\w.-]+=/.test(x))) {
    const [name, ...rest] = v.split('=');
    if (clouds[name!]) throw new UsageError(`--cloud ${name}= is given twice: give each name once`);
    clouds[name!] = rest.join('=');
  }
  return { cloud: bare[0] ?? null, clouds };
}

/** The host name of a --public-url, which must be an http(s) URL without a path. */
function publicHost(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`invalid --public-url "${url}": give a URL such as https://maint.example.org:12347`);
  }
  if (!/^https?:$/.test(parsed.protocol) || parsed.pathname !== '/' || parsed.search || parsed.username) {
    throw new UsageError(`invalid --public-url "${url}": give http(s)://HOST[:PORT] without a path or credentials`);
  }
  return parsed.hostname.toLowerCase();
}

/** The listen address as a URL clients can use: never 0.0.0.0 (the machine's name instead). */
export function defaultPublicUrl(host: string, port: number, tls: boolean): string {
  const name = WILDCARD_HOST.test(host) ? hostname() : bracketed(host);
  return `${tls ? 'https' : 'http'}://${name}:${port}`;
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** The authenticator of the options, and how to let go of it (the SIGHUP handler). */
async function authenticator(options: ServeOptions, io: IO): Promise<{ auth: Authenticator | null; dispose: () => void }> {
  if (options.authenticator) return { auth: options.authenticator, dispose: () => undefined };
  if (options.tokens) {
    const { TokensFile } = await import('../api/auth.js');
    const file = new TokensFile(options.tokens);
    const path = options.tokens;
    const reload = () => {
      try {
        file.reload();
        io.out.write(`maintctl serve: re-read ${path} (${file.size} tokens)\n`);
      } catch (err) {
        io.err.write(`maintctl serve: kept the previous tokens: ${(err as Error).message}\n`);
      }
    };
    process.on('SIGHUP', reload);
    return { auth: file, dispose: () => process.off('SIGHUP', reload) };
  }
  if (options.auth === 'keystone') {
    const { keystoneAuthenticator } = await import('../api/keystone-auth.js');
    return { auth: keystoneAuthenticator(/^openstack(?::(.+))?$/.exec(options.cloud ?? '')?.[1] ?? null), dispose: () => undefined };
  }
  return { auth: null, dispose: () => undefined };
}

function driverOf(cloud: string, store: Store, now: number): DriverSpec {
  const openstack = /^openstack(?::(.+))?$/.exec(cloud);
  return openstack
    ? { kind: 'openstack', cloud: openstack[1] ?? null }
    : { kind: 'sim', cloudId: importCloud(store, readCloudFile(cloud), cloud, now), cloudFile: cloud };
}

export async function runServe(options: ServeOptions, io: IO): Promise<void> {
  const { auth, dispose } = await authenticator(options, io);
  try {
    await serve(options, io, auth);
  } finally {
    dispose();
  }
}

async function serve(options: ServeOptions, io: IO, auth: Authenticator | null): Promise<void> {
  const { attachApi, createApiServer, drain, listenOn } = await import('../api/listener.js');
  const tls = options.tlsCert && options.tlsKey ? { certFile: options.tlsCert, keyFile: options.tlsKey } : null;
  const server = await createApiServer(tls);
  const shared = options.store ? await openSharedStore(options.store, { leaseTimeMs: options.leaseTimeMs ?? SHARED_LEASE_MS }) : null;
  // Sim clouds and plug-ins stay in the state directory even when sessions are in a shared store.
  const store = Store.open(storePath(options.stateDir));
  const clock = new RealClock();
  const closeStores = async () => {
    store.close();
    await shared?.close();
  };
  let driver: DriverSpec | null;
  const clouds: Record<string, DriverSpec> = {};
  try {
    driver = options.cloud === null ? null : driverOf(options.cloud, store, clock.now());
    for (const [name, cloud] of Object.entries(options.clouds ?? {})) clouds[name] = driverOf(cloud, store, clock.now());
  } catch (err) {
    await closeStores();
    throw err;
  }
  // One engine per state directory on the embedded store; on a shared one, session leases keep replicas apart.
  if (!shared && !takeEngineLock(options.stateDir)) {
    await closeStores();
    throw new RefusedError(`another engine runs ${options.stateDir}: stop it, or serve another --state-dir`);
  }
  const releaseLock = () => (shared ? undefined : releaseEngineLock(options.stateDir));
  let port: number;
  try {
    port = await listenOn(server, options.host, options.port);
  } catch (err) {
    releaseLock();
    await closeStores();
    throw err;
  }
  const baseUrl = (options.publicUrl ?? defaultPublicUrl(options.host, port, Boolean(tls))).replace(/\/+$/, '');
  const engine = new Engine({
    store,
    repo: shared ?? undefined,
    clock,
    baseUrl,
    watchMs: WATCH_MS,
    leaseTtlMs: options.leaseTimeMs ?? SHARED_LEASE_MS,
    owner: shared ? replicaId() : undefined,
    // The state directory's plug-ins, as the embedded engine finds them.
    plugins: statePlugins(options.stateDir),
    delivery: { allowHosts: options.allowWebhookHosts ?? [] },
  });
  engine.bus.subscribe((event) => {
    // Instance names are looked up in the embedded store only (a line is written at once, not after a query).
    const line = eventLine(event, event.time, shared ? () => undefined : namesIn(store, event.sessionId));
    if (line) io.out.write(`${new Date(event.time).toISOString()} ${event.sessionId?.slice(0, 8) ?? '-'} ${line.slice(11)}\n`);
  });
  const served = [hostName(new URL(baseUrl).host)!];
  if (!WILDCARD_HOST.test(options.host)) served.push(hostName(bracketed(options.host)) ?? options.host);
  attachApi(server, {
    engine,
    driver,
    clouds,
    auth,
    hosts: served,
    maxBody: options.maxBody,
    allowWebhookHosts: options.allowWebhookHosts,
    log: (m) => io.err.write(`${m}\n`),
  });
  engine.start();
  const listening = `${tls ? 'https' : 'http'}://${bracketed(options.host)}:${port}`;
  // The state directory names its one engine's URL; replicas are reached through their load balancer.
  if (!shared) advertiseUrl(options.stateDir, baseUrl);
  const where = shared ? `, store ${redactStoreUrl(options.store!)} as replica ${engine.owner}` : '';
  io.out.write(`maintctl serve: listening on ${listening}/v1/maintenance (cloud ${[options.cloud, ...Object.entries(options.clouds ?? {}).map(([n, c]) => `${n}=${c}`)].filter(Boolean).join(', ')}${baseUrl !== listening ? `, public URL ${baseUrl}` : ''}${where})\n`);
  options.onListening?.(listening);
  try {
    await (options.until ?? stopSignal());
  } finally {
    io.out.write('maintctl serve: stopping (requests under way finish; sessions resume at the next start)\n');
    await drain(server, clock, options.drainMs ?? 10_000);
    await engine.stop();
    if (!shared) withdrawUrl(options.stateDir);
    releaseLock();
    await closeStores();
  }
}

/** A replica's name in leases and GET /v1/replicas: where it runs, and unique even for the same pid later. */
function replicaId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
}

const bracketed = (host: string) => (host.includes(':') ? `[${host}]` : host);
