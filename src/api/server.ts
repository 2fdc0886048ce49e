// The Fenix REST API (seed 000/001) over an engine in this process, as a table of routes. A request
// goes: target -> Host -> route -> token -> body -> handler; each step can only answer 4xx, a
// handler's unexpected failure answers 500, and nothing a client sends can stop the process.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { InvalidInputError, NotFoundError, RefusedError } from '../domain/errors.js';
import type { DriverSpec } from '../domain/model.js';
import { isTerminal } from '../domain/states.js';
import type { Engine } from '../engine/engine.js';
import { projectDocument } from '../engine/project-view.js';
import { sessionDocument } from '../engine/session-view.js';
import * as releases from '../engine/release-view.js';
import { NOTIFICATION_TOPICS } from '../domain/releases.js';
import { principalOf, requireAdmin, requireProject, type Authenticator, type Principal } from './auth.js';
import * as constraints from './constraints.js';
import { addSubscription, eventsAfter, intParam, MAX_WAIT_MS, removeSubscriptions, replicasOf, sessionByPrefix, subscriptionsOf, summaries, visibleEvents } from './extensions.js';
import { checkHost, DEFAULT_MAX_BODY, errorBody, HttpError, LOOPBACK_NAMES, parseTarget, readJsonBody, sendJson } from './http.js';

type Params = Record<string, string>;

interface Context {
  params: Params;
  body: unknown;
  principal: Principal;
  query: URLSearchParams;
}

/**
 * Who may call a route: admins only; admins and the token of the route's {project}; or any
 * token, the handler showing a project token only what concerns its project (or refusing a row of another's).
 */
type Scope = 'admin' | 'project' | 'any';

interface Route {
  method: string;
  segments: string[];
  scope: Scope;
  handler: (ctx: Context) => Promise<unknown> | unknown;
}

const route = (method: string, path: string, scope: Scope, handler: Route['handler']): Route => ({
  method,
  segments: path.split('/').filter(Boolean),
  scope,
  handler,
});

/** The parameters of a path matching the route's segments (`{name}` matches any one segment), or null. */
function match(route: Route, segments: string[]): Params | null {
  if (route.segments.length !== segments.length) return null;
  const params: Params = {};
  for (const [i, part] of route.segments.entries()) {
    const given = segments[i]!;
    if (part.startsWith('{')) params[part.slice(1, -1)] = given;
    else if (part !== given) return null;
  }
  return params;
}

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

export interface ApiOptions {
  engine: Engine;
  /** The infrastructure of sessions created without naming one (null: they must name one). */
  driver: DriverSpec | null;
  /** Infrastructures a create names with `"cloud": NAME` (serve --cloud NAME=FILE). */
  clouds?: Record<string, DriverSpec>;
  /** Webhook hosts allowed although link-local or metadata (serve --allow-webhook-host). */
  allowWebhookHosts?: string[];
  /** Authenticates tokens; null serves everyone as admin (allowed on loopback only). */
  auth?: Authenticator | null;
  /** Host names served besides loopback (the --public-url's). */
  hosts?: string[];
  maxBody?: number;
  /** Where a handler's unexpected failure is told (default: stderr). */
  log?: (message: string) => void;
}

/** The infrastructure a create asks for: its "cloud" (a name given to serve), else the default. */
function pickDriver(body: unknown, { driver, clouds = {} }: ApiOptions): { driver: DriverSpec; request: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('cloud' in body)) {
    if (!driver) throw new HttpError(400, `this server has no default cloud: name one with "cloud" (${Object.keys(clouds).join(', ') || 'none is served'})`);
    return { driver, request: body };
  }
  const { cloud, ...request } = body as Record<string, unknown>;
  const named = typeof cloud === 'string' ? clouds[cloud] : undefined;
  if (!named) throw new HttpError(400, `no cloud named ${JSON.stringify(cloud)} on this server: name one of ${Object.keys(clouds).join(', ') || '(none is served)'}`);
  return { driver: named, request };
}

/** A cluster session names no cloud: it runs on the cluster's, when that is one this server serves by name. */
async function withClusterCloud(repo: Engine['repo'], body: unknown): Promise<unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || 'cloud' in body) return body;
  const name = (body as { cluster?: unknown }).cluster;
  if (typeof name !== 'string') return body;
  const cloud = (await releases.getCluster(repo, name)).cloud;
  return cloud ? { ...body, cloud } : body;
}

/** The API's routes, in the order they are tried; `detail` before `{project}`. */
function routes(options: ApiOptions): Route[] {
  const { engine } = options;
  const repo = engine.repo;
  const sessionId = async (p: Params) => {
    if (!(await repo.findSession(p.session!))) throw new NotFoundError(`no session ${p.session}`);
    return p.session!;
  };
  const wait = (q: URLSearchParams) => intParam(q, 'wait_ms', 0, MAX_WAIT_MS);
  return [
    // Fenix (seeds 000/001).
    route('POST', '/v1/maintenance', 'admin', async ({ body }) => {
      const { driver, request } = pickDriver(await withClusterCloud(repo, body), options);
      return { session_id: (await engine.createSession(request, driver)).id };
    }),
    route('GET', '/v1/maintenance', 'admin', async () => ({
      session_id: (await repo.sessionCounts()).filter((s) => !isTerminal(s.state)).map((s) => s.id),
    })),
    route('GET', '/v1/maintenance/{session}/detail', 'admin', async ({ params }) => sessionDocument(repo, await sessionId(params))),
    route('GET', '/v1/maintenance/{session}', 'admin', async ({ params }) => {
      const doc = await sessionDocument(repo, await sessionId(params));
      return { session_id: doc.session_id, state: doc.state, percent_done: doc.percent_done, failure: doc.failure };
    }),
    route('PUT', '/v1/maintenance/{session}', 'admin', async ({ params, body }) => {
      noFields(body, 'PUT /v1/maintenance/{session} continues a failed session');
      const session = await engine.continueSession(await sessionId(params));
      return { session_id: session.id, state: session.state };
    }),
    route('DELETE', '/v1/maintenance/{session}', 'admin', async ({ params, query }) => ({
      session_id: params.session,
      ...(await engine.deleteSession(await sessionId(params), { keepDisabled: query.get('keep_disabled') === 'true' })),
    })),
    route('GET', '/v1/maintenance/{session}/{project}', 'project', async ({ params }) => projectDocument(repo, await sessionId(params), params.project!)),
    route('PUT', '/v1/maintenance/{session}/{project}', 'project', async ({ params, body }) => {
      await engine.reply(await sessionId(params), params.project!, body);
      return {};
    }),
    // maintctl's own (README: "The HTTP API").
    route('GET', '/v1/sessions', 'any', ({ principal }) => summaries(engine, principal)),
    route('GET', '/v1/sessions/by-prefix/{prefix}', 'any', async ({ params, principal }) => ({ session_id: await sessionByPrefix(engine, principal, params.prefix!) })),
    route('GET', '/v1/sessions/{session}/events', 'admin', async ({ params, query }) =>
      eventsAfter(engine, await sessionId(params), intParam(query, 'after', 0), wait(query)),
    ),
    route('GET', '/v1/events/latest', 'any', async () => ({ event_id: await repo.latestEventId() })),
    route('GET', '/v1/events', 'any', ({ query, principal }) => eventsAfter(engine, null, intParam(query, 'after', 0), wait(query), visibleEvents(engine, principal))),
    route('GET', '/v1/subscriptions', 'admin', () => subscriptionsOf(engine)),
    route('GET', '/v1/replicas', 'admin', () => replicasOf(engine)),
    route('GET', '/v1/projects/{project}/subscriptions', 'project', ({ params }) => subscriptionsOf(engine, params.project!)),
    route('POST', '/v1/projects/{project}/subscriptions', 'project', ({ params, body }) => addSubscription(engine, params.project!, body, options.allowWebhookHosts ?? [])),
    route('DELETE', '/v1/projects/{project}/subscriptions', 'project', ({ params, query }) => removeSubscriptions(engine, params.project!, query)),
    // Releases, clusters and notifications (seed 003; README "Releases and clusters").
    ...releaseRoutes(engine),
    route('POST', '/v1/sessions/{session}/rollback', 'admin', async ({ params, body }) => {
      noFields(body, 'POST /v1/sessions/{session}/rollback rolls back a failed or done update');
      const { session, hosts } = await engine.rollbackSession(await sessionId(params));
      return { session_id: session?.id ?? null, hosts };
    }),
    // Later Fenix's application constraints (a project token: its own project's only).
    route('GET', '/v1/instance_group', 'any', ({ principal, query }) => constraints.listGroupsRoute(engine, principal, query)),
    route('PUT', '/v1/instance_group/{group}', 'any', ({ principal, params, body }) => constraints.putGroupRoute(engine, principal, params.group!, body)),
    route('GET', '/v1/instance_group/{group}', 'any', ({ principal, params }) => constraints.getGroupRoute(engine, principal, params.group!)),
    route('DELETE', '/v1/instance_group/{group}', 'any', ({ principal, params }) => constraints.deleteGroupRoute(engine, principal, params.group!)),
    route('GET', '/v1/instance', 'any', ({ principal, query }) => constraints.listInstancesRoute(engine, principal, query)),
    route('PUT', '/v1/instance/{instance}', 'any', ({ principal, params, body }) => constraints.putInstanceRoute(engine, principal, params.instance!, body)),
    route('GET', '/v1/instance/{instance}', 'any', ({ principal, params }) => constraints.getInstanceRoute(engine, principal, params.instance!)),
    route('DELETE', '/v1/instance/{instance}', 'any', ({ principal, params }) => constraints.deleteInstanceRoute(engine, principal, params.instance!)),
  ];
}

function releaseRoutes(engine: Engine): Route[] {
  const { repo, clock } = engine;
  return [
    route('GET', '/v1/releases', 'admin', () => releases.releaseDocuments(repo)),
    route('POST', '/v1/releases', 'admin', ({ body }) => releases.addRelease(repo, body, clock.now())),
    route('GET', '/v1/releases/{release}', 'admin', ({ params }) => releases.showRelease(repo, params.release!)),
    route('DELETE', '/v1/releases/{release}', 'admin', ({ params }) => releases.removeRelease(repo, params.release!)),
    route('GET', '/v1/clusters', 'admin', () => releases.clusterDocuments(repo)),
    route('POST', '/v1/clusters', 'admin', ({ body }) => releases.createCluster(repo, body, clock.now())),
    route('GET', '/v1/clusters/{cluster}', 'admin', ({ params }) => releases.showCluster(repo, params.cluster!)),
    route('GET', '/v1/notifications', 'admin', ({ query }) =>
      releases.notificationDocuments(repo, {
        ...(query.get('cluster') ? { cluster: query.get('cluster')! } : {}),
        ...(query.get('topic') ? { topic: checkTopic(query.get('topic')!) } : {}),
        afterId: intParam(query, 'after', 0),
      }),
    ),
  ];
}

function checkTopic(topic: string): string {
  if (!(NOTIFICATION_TOPICS as readonly string[]).includes(topic)) throw new HttpError(400, `invalid topic=${topic.slice(0, 20)}: use one of ${NOTIFICATION_TOPICS.join(', ')}`);
  return topic;
}

/** A route that takes no body accepts none, or an empty object. */
function noFields(body: unknown, what: string): void {
  const empty = typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0;
  if (!empty) throw new HttpError(400, `${what} and takes no body (or {})`);
}

/** The status of an error a handler threw on purpose; anything else is the server's fault (500). */
function statusOf(err: unknown): number | null {
  if (err instanceof HttpError) return err.status;
  if (err instanceof InvalidInputError) return 400;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof RefusedError) return 409;
  return null;
}

/** The request handler of the API (attach it to an http or https server). */
export function apiHandler(options: ApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const table = routes(options);
  const hosts = new Set([...LOOPBACK_NAMES, ...(options.hosts ?? []).map((h) => h.toLowerCase())]);
  const maxBody = options.maxBody ?? DEFAULT_MAX_BODY;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));

  async function answer(req: IncomingMessage): Promise<unknown> {
    const target = parseTarget(req.url);
    checkHost(req, hosts);
    const candidates = table.map((r) => ({ r, params: match(r, target.segments) })).filter((c) => c.params);
    if (!candidates.length) throw new HttpError(404, `no such resource: ${target.path}`);
    const found = candidates.find((c) => c.r.method === req.method);
    if (!found) {
      const allow = [...new Set(candidates.map((c) => c.r.method))].join(', ');
      throw new HttpError(405, `${String(req.method).slice(0, 20)} is not allowed on ${target.path} (allowed: ${allow})`, { allow });
    }
    const principal = await principalOf(req, options.auth ?? null);
    const params = found.params!;
    if (found.r.scope === 'admin') requireAdmin(principal);
    else if (found.r.scope === 'project') requireProject(principal, params.project!);
    const body = METHODS_WITH_BODY.has(req.method!) ? await readJsonBody(req, maxBody) : {};
    const query = new URL(req.url!, 'http://api').searchParams;
    return found.r.handler({ params, body, principal, query });
  }

  return (req, res) => {
    // Tells the remote CLI this is maintctl serve (a plain Fenix server lacks the /v1/ additions).
    res.setHeader('x-maintctl-api', '1');
    answer(req).then(
      (result) => sendJson(res, 200, result),
      (err: unknown) => {
        const status = statusOf(err);
        if (status === null) log(`maintctl serve: ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}`);
        const message = status === null ? 'the server failed to answer this request (its log says why)' : (err as Error).message;
        // A refused body may still be arriving: answer and close rather than read it.
        const close: Record<string, string> = status === 413 || status === 415 ? { connection: 'close' } : {};
        sendJson(res, status ?? 500, errorBody(message), { ...(err instanceof HttpError ? err.headers : {}), ...close });
      },
    );
  };
}

/** Requests node's parser cannot read (bad method, header, framing) get a JSON 4xx too. */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const overflow = err.code === 'HPE_HEADER_OVERFLOW';
  const status = overflow ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const text = JSON.stringify(errorBody(overflow ? 'the request headers are too large' : `malformed request: ${err.code ?? 'unreadable'}`));
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}
