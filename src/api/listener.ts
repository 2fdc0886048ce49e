// An HTTP(S) server carrying the API: made, listening, and drained at shutdown. Shared by
// `maintctl serve` and the background engine when it listens (MAINTCTL_LISTEN).
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, Timer } from '../domain/clock.js';
import { InvalidInputError, RefusedError } from '../domain/errors.js';
import { apiHandler, onClientError, type ApiOptions } from './server.js';

/** A request without Host is answered by the API (a JSON 400), not by node's bare 400. */
const SERVER_OPTIONS = { requireHostHeader: false, headersTimeout: 20_000, requestTimeout: 60_000 };

export interface Tls {
  certFile: string;
  keyFile: string;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidInputError(`cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export async function createApiServer(tls: Tls | null): Promise<Server> {
  if (!tls) return (await import('node:http')).createServer(SERVER_OPTIONS);
  const { createServer } = await import('node:https');
  const cert = readPem(tls.certFile, 'certificate');
  const key = readPem(tls.keyFile, 'key');
  try {
    return createServer({ ...SERVER_OPTIONS, cert, key });
  } catch (err) {
    throw new InvalidInputError(`the TLS certificate or key is not usable: ${(err as Error).message}`);
  }
}

/** Listens; resolves with the port (the one chosen when 0 was asked). */
export async function listenOn(server: Server, host: string, port: number): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  } catch (err) {
    throw new RefusedError(`cannot listen on ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return (server.address() as AddressInfo).port;
}

export function attachApi(server: Server, options: ApiOptions): void {
  server.on('request', apiHandler(options));
  server.on('clientError', onClientError);
}

/** Stops accepting, lets requests under way finish (up to `ms`), then closes what is left. */
export async function drain(server: Server, clock: Clock, ms: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: Timer | undefined;
  const late = new Promise<void>((resolve) => (timer = clock.at(clock.now() + ms, resolve)));
  await Promise.race([closed, late]);
  timer?.cancel();
  server.closeAllConnections();
  await closed;
}
