// What the CLI needs from an engine, whether it runs embedded (this machine's state directory)
// or remote (a maintctl serve or any Fenix API server, later).
import type { SessionEvent } from '../domain/model.js';
import type { SessionDocument, SessionSummary } from '../engine/session-view.js';

export interface CreateInput {
  /** The Fenix create-session body (POST /v1/maintenance), plus our extensions. */
  request: Record<string, unknown>;
  /** A sim cloud file: the session runs on that simulated cloud. */
  cloudFile?: string;
}

export interface EngineClient {
  createSession(input: CreateInput): Promise<string>;
  listSessions(): Promise<SessionSummary[]>;
  showSession(id: string): Promise<SessionDocument>;
  /** Events of the session after the given event id, oldest first. */
  events(id: string, afterId: number): Promise<SessionEvent[]>;
  deleteSession(id: string, options: { keepDisabled: boolean }): Promise<{ reenabled: string[] }>;
  continueSession(id: string): Promise<SessionDocument>;
  /** A full session id from an unambiguous prefix. */
  resolveId(idOrPrefix: string): Promise<string>;
  close(): void;
}
