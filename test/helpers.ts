// Test harness: an in-memory store, a virtual clock and a simulated cloud, with a few readings.
import { VirtualClock } from '../src/engine/clock.js';
import { Engine } from '../src/engine/engine.js';
import type { PluginRegistry } from '../src/engine/plugins.js';
import type { SessionEvent } from '../src/domain/model.js';
import { importCloud, parseCloudText } from '../src/infra/sim/cloud-file.js';
import { SimCloud } from '../src/infra/sim/sim-cloud.js';
import { Store } from '../src/store/store.js';

export const T0 = Date.UTC(2026, 10, 22, 6, 0, 0);

export interface Harness {
  store: Store;
  clock: VirtualClock;
  engine: Engine;
  cloudId: string;
  cloud: SimCloud;
}

/** A fresh store and engine over the cloud described by `yaml` (the cloud-file format). */
export function harness(yaml: string, options: { auto?: boolean; path?: string; plugins?: PluginRegistry } = {}): Harness {
  const store = Store.open(options.path ?? ':memory:');
  const clock = new VirtualClock(T0, { auto: options.auto ?? true });
  const cloudId = importCloud(store, parseCloudText(yaml, 'test cloud'), 'test', clock.now());
  const engine = new Engine({ store, clock, plugins: options.plugins });
  engine.start();
  return { store, clock, engine, cloudId, cloud: SimCloud.open(store, clock, cloudId) };
}

export async function runSession(h: Harness, request: Record<string, unknown> = {}) {
  const session = await h.engine.createSession({ hosts: [], ...request }, { kind: 'sim', cloudId: h.cloudId });
  const end = await h.engine.waitForEnd(session.id);
  return { session: end, events: h.store.events(session.id), allEvents: h.store.events(null) };
}

export const types = (events: SessionEvent[]) => events.map((e) => e.eventType);

export function sessionStates(events: SessionEvent[]): string[] {
  return events.filter((e) => e.eventType === 'maintenance.session').map((e) => String(e.payload.state));
}
