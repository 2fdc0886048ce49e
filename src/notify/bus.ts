// In-process fan-out of committed events (CLI progress, the sim's VNFMs, webhook delivery later).
import type { SessionEvent } from '../domain/model.js';

export type EventListener = (event: SessionEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(events: readonly SessionEvent[]): void {
    for (const event of events) {
      for (const listener of [...this.listeners]) {
        try {
          listener(event);
        } catch {
          // A listener's failure is its own; the engine goes on.
        }
      }
    }
  }
}
