// In-process fan-out of committed events (CLI progress, the sim's VNFMs, webhook delivery later).
import type { SessionEvent } from '../domain/model.js';

export type EventListener = (event: SessionEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();
  /** Told of each session deleted here: a deletion leaves no event behind to wake a long poll with. */
  private readonly deletionListeners = new Set<(sessionId: string) => void>();
  /** The listeners as an array, made again only when they change (not once per event: a rehearsal publishes 860,000). */
  private snapshot: EventListener[] | null = null;

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    this.snapshot = null;
    return () => {
      this.snapshot = null;
      return this.listeners.delete(listener);
    };
  }

  publish(events: readonly SessionEvent[]): void {
    for (const event of events) {
      // Each event goes to the listeners there when it is published (one may subscribe or leave in between).
      const listeners = (this.snapshot ??= [...this.listeners]);
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // A listener's failure is its own; the engine goes on.
        }
      }
    }
  }

  onDeleted(listener: (sessionId: string) => void): () => void {
    this.deletionListeners.add(listener);
    return () => this.deletionListeners.delete(listener);
  }

  deleted(sessionId: string): void {
    for (const listener of [...this.deletionListeners]) {
      try {
        listener(sessionId);
      } catch {
        // As for events: a listener's failure is its own.
      }
    }
  }
}
