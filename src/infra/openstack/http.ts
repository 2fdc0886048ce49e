// JSON over HTTP with undici: a timeout on every call, retries (with backoff) on connection
// errors, 5xx and 429, never on other 4xx. Errors name the method, URL and what came back.
import type { Dispatcher } from 'undici';
import { request } from 'undici';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    readonly body: string,
  ) {
    super(`${method} ${url} answered HTTP ${status}${body ? `: ${summarise(body)}` : ''}`);
  }
}

/** Nova and Keystone put the reason in {"<kind>": {"message": ...}} or {"error": {"message": ...}}. */
function summarise(body: string): string {
  try {
    const parsed = JSON.parse(body) as Record<string, { message?: string }>;
    const first = Object.values(parsed)[0];
    if (first && typeof first === 'object' && first.message) return first.message;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}

export interface HttpOptions {
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  retries?: number;
  /** Waits between retries; injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class JsonHttp {
  constructor(private readonly options: HttpOptions = {}) {}

  async call<T>(method: Dispatcher.HttpMethod, url: string, headers: Record<string, string>, body?: unknown): Promise<HttpResponse<T>> {
    const retries = this.options.retries ?? 3;
    const sleep = this.options.sleep ?? realSleep;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await request(url, {
          method,
          dispatcher: this.options.dispatcher,
          headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
          headersTimeout: this.options.timeoutMs ?? 30_000,
          bodyTimeout: this.options.timeoutMs ?? 30_000,
        });
        const text = await response.body.text();
        if (response.statusCode >= 400) {
          const error = new HttpError(response.statusCode, method, url, text);
          if ((response.statusCode >= 500 || response.statusCode === 429) && attempt < retries) {
            await sleep(backoff(attempt));
            continue;
          }
          throw error;
        }
        return { status: response.statusCode, headers: response.headers, body: (text ? JSON.parse(text) : {}) as T };
      } catch (err) {
        if (err instanceof HttpError || attempt >= retries || !isConnectionError(err)) throw err;
        await sleep(backoff(attempt));
      }
    }
  }
}

const backoff = (attempt: number) => Math.min(8000, 250 * 2 ** attempt);

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED'].includes(code);
}
