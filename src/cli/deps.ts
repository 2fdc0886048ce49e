// What every command gets: the IO, the output format, a clock, and a lazily made engine client.
import type { Clock } from '../domain/clock.js';
import type { EngineClient } from '../client/client.js';
import type { IO } from './io.js';
import type { OutputFormat } from './render/output.js';

export interface Deps {
  io: IO;
  format: OutputFormat;
  clock: Clock;
  client: () => EngineClient;
}
