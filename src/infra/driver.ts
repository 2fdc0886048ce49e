// The one interface every infrastructure (sim, openstack, ...) implements. Shaped by Nova:
// moves are requested and then observed, capacity is reported and may lag, hosts are services.
import type { Clock } from '../domain/clock.js';
import type { ProjectReplyBody } from '../domain/schemas.js';
import type { HostType, InstanceAction } from '../domain/states.js';
import type { Store } from '../store/store.js';

export interface InfraHost {
  name: string;
  type: HostType;
  vcpus: number;
  vcpusUsed: number;
  /** Memory in MiB, when the infrastructure reports it (null: memory is not taken into account). */
  memoryMb: number | null;
  memoryMbUsed: number | null;
  /** Enabled for scheduling. */
  enabled: boolean;
  disabledReason: string | null;
}

export interface InfraInstance {
  id: string;
  name: string;
  projectId: string;
  host: string;
  /** ACTIVE, MIGRATING, VERIFY_RESIZE, ERROR, ... as the infrastructure says. */
  status: string;
  vcpus: number;
  /** Flavor RAM in MiB, when known. */
  memoryMb: number | null;
  floatingIp: boolean;
  /** Why the infrastructure put it in ERROR, when it did. */
  fault?: string;
}

export type MoveKind = Extract<InstanceAction, 'MIGRATE' | 'LIVE_MIGRATE'>;

/** One move as the engine recorded it: enough for a driver to find it again after a restart. */
export interface MoveRef {
  /** The engine's operation key (unique per session and operation). */
  key: string;
  instanceId: string;
  kind: MoveKind;
  /** The host the instance was on when the move was recorded. */
  from: string;
  /** Where the engine planned it to go (its room is reserved there); null lets the infrastructure choose. */
  to: string | null;
  /** When the engine recorded the move, before requesting it (epoch ms). */
  startedAt: number;
}

/**
 * What a request may say back: when the operation is due to finish, where the infrastructure
 * knows (the sim does). The engine then looks at it first at that time; without it, at once.
 */
export interface Accepted {
  checkAt: number;
}

/** What the infrastructure says about a requested operation, looked up by its key. */
export type Observation =
  /** It has no record of this key: the request never reached it. Safe to request again. */
  | { phase: 'unknown' }
  /** Still going; look again at checkAt (epoch ms). */
  | { phase: 'running'; checkAt: number }
  | { phase: 'done'; result: Record<string, unknown> }
  | { phase: 'failed'; cause: string };

export interface NoticeListener {
  (event: { sessionId: string | null; eventType: string; payload: Record<string, unknown> }): void;
}

/** What an infrastructure's companions (the sim's scripted VNFMs) may do to a session. */
export interface CompanionContext {
  sessionId: string;
  /** Recorded as a project's reply is; typed by the code that builds it, so not checked against the schema. */
  reply(projectId: string, body: ProjectReplyBody): Promise<void>;
  /** Subscribes to the session's notifications; returns the unsubscribe function. */
  listen(listener: NoticeListener): () => void;
  /** Projects currently asked something and not yet answered (only this one, when given). */
  pendingQuestions(projectId?: string): Array<{ projectId: string; state: string; instanceIds: string[] }>;
}

/** Which hosts a read is about; without `hosts`, every host the infrastructure has. */
export interface HostScope {
  hosts?: readonly string[];
}

/**
 * An infrastructure's calls as it answers them in the caller's turn (the sim, in memory): the
 * same calls without a promise (an error is thrown), so a runner need not wait a turn of the
 * event loop for each of a rehearsal's 200,000 moves and their looks.
 */
export interface ImmediateCalls {
  disableHost(name: string, reason: string): void;
  enableHost(name: string): void;
  requestMove(move: MoveRef): Accepted | void;
  observeMove(move: MoveRef): Observation;
  requestHostMaintenance(key: string, host: string): Accepted | void;
  observeHostMaintenance(key: string, host: string): Observation;
}

export interface InfraDriver {
  readonly kind: string;
  /** Present when the infrastructure answers these calls at once (the runner then calls them so). */
  readonly immediate?: ImmediateCalls;
  /**
   * Names the infrastructure itself (the sim cloud, the OpenStack endpoint and region), so two
   * sessions on the same hosts of the same cloud can be told apart from sessions on another one.
   */
  readonly identity: string;
  listHosts(scope?: HostScope): Promise<InfraHost[]>;
  /** Instances on the hosts of the scope (all when none is given). */
  listInstances(scope?: HostScope): Promise<InfraInstance[]>;
  disableHost(name: string, reason: string): Promise<void>;
  enableHost(name: string): Promise<void>;
  /** Requests a move; `key` makes it idempotent and observable after a restart. */
  requestMove(move: MoveRef): Promise<Accepted | void>;
  observeMove(move: MoveRef): Promise<Observation>;
  /** The infrastructure's own part of maintaining a host (the sim simulates it; real clouds leave it to plug-ins). */
  requestHostMaintenance(key: string, host: string): Promise<Accepted | void>;
  observeHostMaintenance(key: string, host: string): Promise<Observation>;
  /** Seconds a move is expected to take (what interrupts an instance), or null when it cannot tell. */
  moveEstimate?(kind: 'MIGRATE' | 'LIVE_MIGRATE'): number | null;
  /** Whether this infrastructure itself answers for the project (the sim's scripted VNFMs). */
  answersFor?(projectId: string): boolean;
  /** Starts whatever comes with this infrastructure for a session (the sim's VNFMs); returns a stop function. */
  startCompanions?(ctx: CompanionContext): () => void;
}

export interface DriverContext {
  clock: Clock;
  store: Store;
}
