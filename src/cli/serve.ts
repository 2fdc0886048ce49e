// maintctl serve: the engine behind the Fenix REST API, for VNFMs that answer over HTTP.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { apiHandler } from '../api/server.js';
import { releaseEngineLock, takeEngineLock } from '../client/background.js';
import { storePath } from '../client/state-dir.js';
import { RefusedError } from '../domain/errors.js';
import type { DriverSpec } from '../domain/model.js';
import { RealClock } from '../engine/clock.js';
import { Engine, WATCH_MS } from '../engine/engine.js';
import { importCloud, readCloudFile } from '../infra/sim/cloud-file.js';
import { Store } from '../store/store.js';
import { UsageError } from './exit-codes.js';
import type { IO } from './io.js';
import type { Run } from './main.js';
import { eventLine, namesIn } from './render/event-line.js';

export interface ServeOptions {
  stateDir: string;
  cloud: string;
  host: string;
  port: number;
  /** Resolves when the server should stop (SIGINT/SIGTERM by default). */
  until?: Promise<void>;
}

export function register(program: Command, run: Run): void {
  program
    .command('serve')
    .description('run the engine behind the Fenix REST API (POST/GET /v1/maintenance, ...)')
    .requiredOption('--cloud <openstack[:name]|file>', 'the cloud sessions created through the API maintain')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free one)', '12347')
    .action((flags: { cloud: string; host: string; port: string }) =>
      run(({ io, stateDir }) => {
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid --port "${flags.port}": give a port number`);
        return runServe({ stateDir, cloud: flags.cloud, host: flags.host, port }, io);
      }),
    );
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export async function runServe(options: ServeOptions, io: IO): Promise<void> {
  const store = Store.open(storePath(options.stateDir));
  const clock = new RealClock();
  const openstack = /^openstack(?::(.+))?$/.exec(options.cloud);
  const driver: DriverSpec = openstack
    ? { kind: 'openstack', cloud: openstack[1] ?? null }
    : { kind: 'sim', cloudId: importCloud(store, readCloudFile(options.cloud), options.cloud, clock.now()), cloudFile: options.cloud };
  if (!takeEngineLock(options.stateDir)) {
    store.close();
    throw new RefusedError(`another engine runs ${options.stateDir}: stop it, or serve another --state-dir`);
  }
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://${options.host}:${port}`;
  const engine = new Engine({ store, clock, baseUrl, watchMs: WATCH_MS });
  engine.bus.subscribe((event) => {
    const line = eventLine(event, event.time, namesIn(store, event.sessionId));
    if (line) io.out.write(`${new Date(event.time).toISOString()} ${event.sessionId?.slice(0, 8) ?? '-'} ${line.slice(11)}\n`);
  });
  server.on('request', apiHandler(engine, driver));
  engine.start();
  io.out.write(`maintctl serve: listening on ${baseUrl}/v1/maintenance (cloud ${options.cloud})\n`);
  try {
    await (options.until ?? stopSignal());
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await engine.stop();
    releaseEngineLock(options.stateDir);
    store.close();
  }
}
