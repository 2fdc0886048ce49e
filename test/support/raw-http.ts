// Requests written byte for byte on a socket, for what an HTTP client library would refuse to
// send (absolute-form targets, bad percent-encoding, broken headers, a lying Content-Length).
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** Sends `request` (which should say Connection: close: the server ends the exchange) and reads the answer. */
export function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    // The server may answer and close before the whole request is written (an oversized body).
    socket.on('error', (err: NodeJS.ErrnoException) => (chunks.length ? undefined : reject(err)));
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = raw.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const text = rest.join('\r\n\r\n');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ status, headers, text, json });
    });
    socket.write(request);
  });
}

/** A request with Host 127.0.0.1 and Connection: close unless the headers say otherwise. */
export function requestText(method: string, target: string, options: { headers?: Record<string, string>; body?: string } = {}): string {
  const headers: Record<string, string> = { host: '127.0.0.1', connection: 'close', ...options.headers };
  if (options.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  const lines = Object.entries(headers)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}`);
  return `${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${options.body ?? ''}`;
}
