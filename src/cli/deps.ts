// What every command gets: the IO, the output format, a clock, a lazily made engine client, and
// for a rehearsal the state directory and the rehearsal itself.
import type { Clock } from '../domain/clock.js';
import type { EngineClient } from '../client/client.js';
import type { RehearsalPlan, RehearseInput } from '../engine/rehearsal.js';
import type { IO } from './io.js';
import type { OutputFormat } from './render/output.js';

export interface Deps {
  io: IO;
  format: OutputFormat;
  clock: Clock;
  client: () => EngineClient;
  /** The state directory of the embedded engine (read, never written, by a rehearsal). */
  stateDir?: string;
  /** The --endpoint given on the command line (hints printed for pasting carry it). */
  endpoint?: string;
  /** Runs a rehearsal (default: src/engine/rehearsal.ts, loaded when first needed). */
  rehearse?: (input: RehearseInput) => Promise<RehearsalPlan>;
}
