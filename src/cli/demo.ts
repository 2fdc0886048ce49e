// maintctl demo: a complete rolling maintenance of a simulated cloud, followed event by event.
import type { Command } from 'commander';
import { VirtualClock, settle } from '../engine/clock.js';
import { Engine } from '../engine/engine.js';
import { importCloud, parseCloudText, readCloudFile } from '../infra/sim/cloud-file.js';
import { Store } from '../store/store.js';
import { DEMO_CLOUD } from './demo-cloud.js';
import { SessionFailedError, UsageError } from './exit-codes.js';
import type { IO } from './io.js';
import type { Run } from './main.js';
import { eventLine, namesIn } from './render/event-line.js';
import { emit, type OutputFormat } from './render/output.js';
import { sessionDocument } from '../engine/session-view.js';

export interface DemoOptions {
  /** A sim cloud file to maintain instead of the built-in one. */
  cloudFile?: string;
  /** Simulated seconds per real second; 0 runs as fast as it can. */
  speed: number;
  /** Real sleep, injectable so tests never wait. */
  sleep?: (ms: number) => Promise<void>;
  /** table: a line per event and a summary; json/yaml: only the final session document. */
  format?: OutputFormat;
}

export function register(program: Command, run: Run): void {
  program
    .command('demo')
    .description('run a complete rolling maintenance on a built-in simulated cloud, shown live')
    .option('--cloud <file>', 'maintain this sim cloud file instead of the built-in one')
    .option('--speed <n>', 'simulated seconds per real second (0 = as fast as possible; default 60 on a terminal, 0 when piped or in CI)')
    .action((flags: { cloud?: string; speed?: string }) =>
      run(({ io, format }) => runDemo({ cloudFile: flags.cloud, speed: parseSpeed(flags.speed, io), format }, io)),
    );
}

function parseSpeed(text: string | undefined, io: IO): number {
  if (text === undefined) return io.color ? 60 : 0;
  const speed = Number(text);
  if (!Number.isFinite(speed) || speed < 0) throw new UsageError(`invalid --speed "${text}": give a number of simulated seconds per second, e.g. 60, or 0`);
  return speed;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runDemo(options: DemoOptions, io: IO): Promise<void> {
  const cloud = options.cloudFile ? readCloudFile(options.cloudFile) : parseCloudText(DEMO_CLOUD, 'built-in demo cloud');
  const store = Store.open(':memory:');
  const clock = new VirtualClock(Math.floor(Date.now() / 1000) * 1000);
  const cloudId = importCloud(store, cloud, options.cloudFile ?? 'demo', clock.now());
  const engine = new Engine({ store, clock });
  engine.start();
  const format = options.format ?? 'table';
  if (format === 'table') {
    const start = clock.now();
    io.out.write(
      `maintctl demo: rolling maintenance of ${cloud.hosts.length} hosts and ${cloud.instances.length} instances ` +
        `(simulated time${options.speed ? `, ${options.speed}x` : ''})\n\n`,
    );
    engine.bus.subscribe((event) => {
      const line = eventLine(event, start, namesIn(store, event.sessionId));
      if (line) io.out.write(`${line}\n`);
    });
  }
  const session = await engine.createSession({ hosts: [], metadata: { openstack_release: 'demo' } }, { kind: 'sim', cloudId });
  const ended = await driveToEnd(engine, clock, session.id, options.speed, options.sleep ?? realSleep);
  // People get a summary; scripts get the document `session show` would give.
  emit(io, format, await sessionDocument(engine.repo, ended.id), () => `\n${summary(store, ended.id)}`);
  store.close();
  if (ended.state !== 'MAINTENANCE_DONE') throw new SessionFailedError(`session ended ${ended.state}: ${ended.failure ?? ''}`);
}

/** Real time per step of a demo that plays at a speed: the output keeps flowing. */
const TICK_MS = 250;

/**
 * Moves simulated time from timer to timer. At a speed, it moves at most a tick's worth at a time
 * and sleeps in proportion, so the demo lasts its simulated time divided by the speed: a timer far
 * ahead (a deadline) must not let everything before it happen at once.
 */
async function driveToEnd(engine: Engine, clock: VirtualClock, sessionId: string, speed: number, sleep: (ms: number) => Promise<void>) {
  const result: { session?: Awaited<ReturnType<Engine['waitForEnd']>> } = {};
  void engine.waitForEnd(sessionId).then((s) => (result.session = s));
  for (;;) {
    await settle();
    if (result.session) return result.session;
    const next = clock.nextDue();
    if (next === null) throw new Error('the demo session stopped making progress');
    const target = speed > 0 ? Math.min(next, clock.now() + speed * TICK_MS) : next;
    if (speed > 0) await sleep((target - clock.now()) / speed);
    await clock.advanceTo(target);
  }
}

function summary(store: Store, sessionId: string): string {
  const session = store.getSession(sessionId);
  const instances = store.instances(sessionId);
  const lines = store.hosts(sessionId).map((h) => {
    const names = instances.filter((i) => i.host === h.name).map((i) => i.name);
    return `  ${h.name.padEnd(12)} ${h.type.padEnd(10)} ${h.state.padEnd(11)} ${names.join(' ')}`;
  });
  const took = Math.round((session.updatedAt - session.createdAt) / 1000);
  return [`session ${session.id} ${session.state} after ${took} s of simulated time`, ...lines].join('\n');
}
