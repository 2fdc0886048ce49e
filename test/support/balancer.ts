// A minimal HTTP load balancer for the replica tests: each request goes to the next backend in
// turn; one that refuses the connection (a killed replica) is skipped for the next. What a VNFM
// or the CLI sees is one URL, as behind any real balancer.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Balancer {
  url: string;
  /** The backends' base URLs (http://127.0.0.1:PORT), replaced as replicas come and go. */
  backends: string[];
  close(): Promise<void>;
}

export async function startBalancer(backends: string[] = []): Promise<Balancer> {
  let next = 0;
  const state = { backends };
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, tries: number) => {
    const list = state.backends;
    if (!list.length || tries > list.length * 2) {
      res.writeHead(502).end(JSON.stringify({ error: { message: 'no replica answered' } }));
      return;
    }
    const target = new URL(list[next++ % list.length]!);
    const out = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${port}` } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    // Refused: nothing reached that replica, so another may take the request.
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' && !res.headersSent) forward(req, body, res, tries + 1);
      else if (!res.headersSent) res.writeHead(502).end(JSON.stringify({ error: { message: `replica failed: ${err.code ?? err.message}` } }));
      else res.destroy();
    });
    out.end(body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => forward(req, Buffer.concat(chunks), res, 0));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    get backends() {
      return state.backends;
    },
    set backends(list: string[]) {
      state.backends = list;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
