// The Fenix REST API (seed 000/001) over an engine in this process. Trailing slashes optional.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError, NotFoundError, RefusedError } from '../domain/errors.js';
import type { DriverSpec } from '../domain/model.js';
import { isTerminal } from '../domain/states.js';
import type { Engine } from '../engine/engine.js';
import { projectDocument } from '../engine/project-view.js';
import { sessionDocument } from '../engine/session-view.js';

type Params = Record<string, string>;
type Handler = (params: Params, body: unknown) => Promise<unknown> | unknown;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

function route(method: string, path: string, handler: Handler): Route {
  const names: string[] = [];
  const pattern = new RegExp(`^${path.replace(/\{(\w+)\}/g, (_m, name: string) => (names.push(name), '([^/]+)'))}/?$`);
  return { method, pattern, names, handler };
}

/** The API's routes; the driver of sessions created through it is the server's. */
function routes(engine: Engine, driver: DriverSpec): Route[] {
  const store = engine.store;
  const sessionId = (p: Params) => store.getSession(p.session!).id;
  return [
    route('POST', '/v1/maintenance', async (_p, body) => ({ session_id: (await engine.createSession(body, driver)).id })),
    route('GET', '/v1/maintenance', () => ({
      session_id: store.listSessions().filter((s) => !isTerminal(s.state)).map((s) => s.id),
    })),
    route('GET', '/v1/maintenance/{session}/detail', (p) => sessionDocument(store, sessionId(p))),
    route('GET', '/v1/maintenance/{session}', (p) => {
      const doc = sessionDocument(store, sessionId(p));
      return { session_id: doc.session_id, state: doc.state, percent_done: doc.percent_done, failure: doc.failure };
    }),
    route('PUT', '/v1/maintenance/{session}', async (p) => {
      const session = await engine.continueSession(sessionId(p));
      return { session_id: session.id, state: session.state };
    }),
    route('DELETE', '/v1/maintenance/{session}', async (p) => ({ session_id: p.session, ...(await engine.deleteSession(sessionId(p))) })),
    route('GET', '/v1/maintenance/{session}/{project}', (p) => projectDocument(store, sessionId(p), p.project!)),
    route('PUT', '/v1/maintenance/{session}/{project}', async (p, body) => {
      await engine.reply(sessionId(p), p.project!, body);
      return {};
    }),
  ];
}

const STATUS = (err: unknown) =>
  err instanceof InvalidInputError ? 400 : err instanceof NotFoundError ? 404 : err instanceof RefusedError ? 409 : 500;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidInputError('the request body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The request handler of the API (attach it to an http server). */
export function apiHandler(engine: Engine, driver: DriverSpec): (req: IncomingMessage, res: ServerResponse) => void {
  const table = routes(engine, driver);
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://api').pathname;
    const matches = table.filter((r) => r.pattern.test(path));
    const match = matches.find((r) => r.method === req.method);
    if (!match) {
      send(res, matches.length ? 405 : 404, { error: { message: matches.length ? `${req.method} is not allowed on ${path}` : `no such resource: ${path}` } });
      return;
    }
    const values = match.pattern.exec(path)!.slice(1).map(decodeURIComponent);
    const params = Object.fromEntries(match.names.map((n, i) => [n, values[i]!]));
    readJson(req)
      .then((body) => match.handler(params, body))
      .then(
        (result) => send(res, 200, result),
        (err: Error) => send(res, STATUS(err), { error: { message: err.message } }),
      );
  };
}
