// The HTTP plumbing of the API: every way a request can be malformed becomes an HttpError with a
// 4xx status and a one-line message, decided before any handler or the engine sees the request.
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const DEFAULT_MAX_BODY = 1024 * 1024;
/** Deeper JSON than this is refused: no document of the API nests beyond a handful of levels. */
export const MAX_JSON_DEPTH = 32;

export interface Target {
  /** Path segments, percent-decoded, without empty ones (so a trailing slash is optional). */
  segments: string[];
  path: string;
}

/** Only origin-form targets (`/v1/...`) are served; absolute-form and `*` are refused. */
export function parseTarget(raw: string | undefined): Target {
  const target = raw ?? '';
  if (!target.startsWith('/')) throw new HttpError(400, `the request target must be a path starting with /, not "${clip(target)}"`);
  const path = target.split(/[?#]/, 1)[0]!;
  const segments = path.split('/').filter(Boolean).map(decodeSegment);
  return { segments, path };
}

function decodeSegment(segment: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `bad percent-encoding in the path segment "${clip(segment)}"`);
  }
  // A decoded segment must stay one segment and one printable name.
  if (/[/\\\u0000-\u001f\u007f]/.test(decoded) || decoded === '.' || decoded === '..') {
    throw new HttpError(400, `the path segment "${clip(segment)}" is not a name`);
  }
  return decoded;
}

const clip = (text: string) => (text.length > 60 ? `${text.slice(0, 60)}...` : text).replace(/[^\x20-\x7e]/g, '?');

/** The host part of a Host header (`name`, `name:port`, `[v6]:port`), lower case. */
export function hostName(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(header.trim());
  return m ? m[1]!.toLowerCase() : null;
}

export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function checkHost(req: IncomingMessage, allowed: ReadonlySet<string>): void {
  const name = hostName(req.headers.host);
  if (!name) throw new HttpError(400, 'the request has no valid Host header');
  if (!allowed.has(name)) throw new HttpError(421, `this server does not serve the host "${clip(name)}": use its --public-url`);
}

const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/**
 * The body as JSON ({} when there is none). The declared length is checked before a byte is read
 * and the received length while reading, so an oversized body is never buffered whole.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!hasBody(req)) return {};
  const type = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, `a request body must be JSON, sent with Content-Type: application/json${type ? ` (not "${clip(type)}")` : ''}`);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk as Buffer);
  }
  return parseJson(Buffer.concat(chunks).toString('utf8'));
}

const tooLarge = (max: number) => new HttpError(413, `the request body is larger than ${max} bytes (the server's --max-body)`);

export function parseJson(text: string): unknown {
  if (!text.trim()) return {};
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new HttpError(400, `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}

/** The deepest nesting of [ and { outside strings: one pass, no recursion. */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export const errorBody = (message: string) => ({ error: { message } });
