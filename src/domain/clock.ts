// The Clock interface (implementations live in engine/clock.ts). Everything reads time through it.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Calls fn once at (or right after) the absolute time `at`, in epoch ms. */
  at(at: number, fn: () => void): Timer;
}
