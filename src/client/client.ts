// What the CLI needs from an engine, whether it runs embedded (this machine's state directory)
// or remote (a maintctl serve or any Fenix API server, later).
import type { SessionEvent, SessionOptionChanges, Subscription } from '../domain/model.js';
import type { PluginRunDocument } from '../engine/plugin-view.js';
import type { ProjectDocument } from '../engine/project-view.js';
import type { SessionDocument, SessionSummary } from '../engine/session-view.js';
import type { NewSubscription } from '../store/subscriptions.js';

export interface CreateInput {
  /** The Fenix create-session body (POST /v1/maintenance), plus our extensions. */
  request: Record<string, unknown>;
  /** A sim cloud file: the session runs on that simulated cloud. */
  cloudFile?: string;
  /** Directories (absolute) searched for the session's plug-ins after the built-ins (--plugin-dir). */
  pluginDirs?: string[];
}

/** What `session update` changes as it continues a failed session. */
export interface ContinueChanges {
  options?: SessionOptionChanges;
  /** A sim cloud file whose faults and timing replace those of the session's simulated cloud. */
  cloudFile?: string;
}

export interface EngineClient {
  createSession(input: CreateInput): Promise<string>;
  listSessions(): Promise<SessionSummary[]>;
  showSession(id: string): Promise<SessionDocument>;
  /**
   * Events of the session after the given event id, oldest first (NotFoundError once the session
   * is gone). With `waitMs`, a client that can (`longPoll`) waits up to that long for the first
   * new one; the others answer at once.
   */
  events(id: string, afterId: number, waitMs?: number): Promise<SessionEvent[]>;
  /** Whether events() waits for new ones (a server's long poll); if not, a follower looks again itself. */
  readonly longPoll: boolean;
  deleteSession(id: string, options: { keepDisabled: boolean }): Promise<{ reenabled: string[] }>;
  continueSession(id: string, changes?: ContinueChanges): Promise<SessionDocument>;
  /** Whether an engine is running the session now (a server always is). */
  engineRuns(id: string): Promise<boolean>;
  /** Makes sure an engine runs the session if it is unfinished (e.g. after a reboot). */
  ensureRunning(id: string): Promise<void>;
  /** A full session id from an unambiguous prefix. */
  resolveId(idOrPrefix: string): Promise<string>;
  /** What the session asks of the project now. */
  showProject(sessionId: string, projectId: string): Promise<ProjectDocument>;
  /** A project's answer (Fenix's PUT /v1/maintenance/{session}/{project} body). */
  reply(sessionId: string, projectId: string, body: Record<string, unknown>): Promise<void>;
  /** The id of the newest event in the store (0 when there is none). */
  latestEventId(): Promise<number>;
  /** Events of every session after the given event id (for agents following all sessions). */
  allEvents(afterId: number): Promise<SessionEvent[]>;
  subscribe(subscription: NewSubscription): Promise<Subscription>;
  unsubscribe(projectId: string, filter: { id?: number; eventType?: string; url?: string; sessionId?: string }): Promise<number>;
  subscriptions(projectId?: string): Promise<Subscription[]>;
  /** Runs of the session's plug-ins with their output (`session logs`); an endpoint that keeps none refuses. */
  pluginRuns(sessionId: string, filter: { host?: string; plugin?: string }): Promise<PluginRunDocument[]>;
  /** Why webhook subscribers could not reply over HTTP to sessions created now, or null (they can). */
  replyProblem(): Promise<string | null>;
  close(): void;
}
