// What the CLI needs from an engine, whether it runs embedded (this machine's state directory)
// or remote (a maintctl serve or any Fenix API server, later).
import type { ConstraintsDocument, GroupDocument, InstanceDocument } from '../domain/constraint-documents.js';
import type { SessionEvent, SessionOptionChanges, Subscription } from '../domain/model.js';
import type { PluginRunDocument } from '../engine/plugin-view.js';
import type { ProjectDocument } from '../engine/project-view.js';
import type { SessionDocument, SessionSummary } from '../engine/session-view.js';
import type { NewSubscription } from '../store/subscriptions.js';
import type { ClusterDocument, NotificationDocument, ReleaseDocument } from '../engine/release-view.js';

/** Which notifications to read: of one cluster or topic, after an id (for following). */
export interface NotificationQuery {
  cluster?: string;
  topic?: string;
  afterId?: number;
}

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
  /** A project's application constraints (GET /v1/instance_group and /v1/instance of the project). */
  constraints(projectId: string): Promise<ConstraintsDocument>;
  /** Fenix's PUT /v1/instance_group/{id} and /v1/instance/{id} bodies; the stored document back. */
  putGroupConstraint(groupId: string, body: Record<string, unknown>): Promise<GroupDocument>;
  putInstanceConstraint(instanceId: string, body: Record<string, unknown>): Promise<InstanceDocument>;
  /** Removes them and returns what they were; NotFoundError when there were none. */
  removeGroupConstraint(groupId: string): Promise<GroupDocument>;
  removeInstanceConstraint(instanceId: string): Promise<InstanceDocument>;
  /** Runs of the session's plug-ins with their output (`session logs`); an endpoint that keeps none refuses. */
  pluginRuns(sessionId: string, filter: { host?: string; plugin?: string }): Promise<PluginRunDocument[]>;
  // ---- releases and clusters (seed 003)
  /** release add (POST /v1/releases body). */
  addRelease(body: Record<string, unknown>): Promise<ReleaseDocument>;
  listReleases(): Promise<ReleaseDocument[]>;
  showRelease(name: string): Promise<ReleaseDocument>;
  /** Refused while a cluster uses it; returns what was deleted. */
  deleteRelease(name: string): Promise<ReleaseDocument>;
  /** cluster create (POST /v1/clusters body). */
  createCluster(body: Record<string, unknown>): Promise<ClusterDocument>;
  listClusters(): Promise<ClusterDocument[]>;
  showCluster(name: string): Promise<ClusterDocument>;
  notifications(query: NotificationQuery): Promise<NotificationDocument[]>;
  /** session rollback: the new session (null when no host had moved) and the hosts it rolls back. */
  rollbackSession(id: string): Promise<{ session_id: string | null; hosts: string[] }>;
  /** Why webhook subscribers could not reply over HTTP to sessions created now, or null (they can). */
  replyProblem(): Promise<string | null>;
  close(): void;
}
