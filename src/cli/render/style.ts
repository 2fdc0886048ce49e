// Colour for people, none for scripts: chalk at level 0 unless the IO says colour is on.
import { Chalk, type ChalkInstance } from 'chalk';
import type { IO } from '../io.js';

export function styleFor(io: IO): ChalkInstance {
  return new Chalk({ level: io.color ? 1 : 0 });
}

export function stateColour(c: ChalkInstance, state: string): string {
  if (state === 'MAINTENANCE_DONE' || state === 'MAINTAINED' || state === 'DONE' || state.startsWith('ACK_')) return c.green(state);
  if (state === 'MAINTENANCE_FAILED' || state === 'FAILED' || state.startsWith('NACK_')) return c.red(state);
  if (state === 'IN_MAINTENANCE' || state === 'RUNNING') return c.yellow(state);
  return c.cyan(state);
}
