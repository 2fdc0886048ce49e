// The session model as the engine keeps it (one row type per store table).
import type { AskedState, HostState, HostType, InstanceAction, PluginType, SessionState } from './states.js';

export interface SessionOptions {
  /** Seconds a project has to answer MAINTENANCE, PREPARE_ and PLANNED_MAINTENANCE (Fenix: 20). */
  projectMaintenanceReply: number;
  /** Seconds a project has to answer SCALE_IN and MAINTENANCE_COMPLETE (Fenix: 60). */
  projectScaleInReply: number;
  /** Hosts in flight at once (being emptied, empty or in maintenance); auto: as many as free capacity allows. */
  maxParallelHosts: number | 'auto';
  /** Moves (migrations, live migrations) under way at once. */
  maxMigrations: number;
  /** Seconds to wait for a host to be reported empty after its instances left (Fenix: 240). */
  hostEmptyTimeout: number;
  /** Seconds a single migration may take before it is declared failed. */
  migrationTimeout: number;
  /** What to do with projects that are not subscribed, by default and per project. */
  unsubscribed: { default: UnsubscribedPolicy; projects: Record<string, UnsubscribedPolicy> };
}

/** What `session update` may change for the rest of a session; the policies merge into the old ones. */
export interface SessionOptionChanges {
  projectMaintenanceReply?: number;
  projectScaleInReply?: number;
  maxParallelHosts?: number | 'auto';
  unsubscribed?: { default?: UnsubscribedPolicy; projects?: Record<string, UnsubscribedPolicy> };
}

export function withChanges(options: SessionOptions, changes: SessionOptionChanges): SessionOptions {
  const { unsubscribed, ...plain } = changes;
  return {
    ...options,
    ...plain,
    unsubscribed: {
      default: unsubscribed?.default ?? options.unsubscribed.default,
      projects: { ...options.unsubscribed.projects, ...unsubscribed?.projects },
    },
  };
}

export const DEFAULT_OPTIONS: SessionOptions = {
  projectMaintenanceReply: 20,
  projectScaleInReply: 60,
  maxParallelHosts: 1,
  maxMigrations: 10,
  hostEmptyTimeout: 240,
  migrationTimeout: 600,
  unsubscribed: { default: 'fail', projects: {} },
};

/** Which infrastructure a session runs against; kept with the session so a restart finds it. */
export interface DriverSpec {
  kind: string;
  [key: string]: unknown;
}

export interface ActionPluginSpec {
  plugin: string;
  type: PluginType;
  metadata: Record<string, unknown>;
  /** Where it runs among the plug-ins of its type (lowest first); without one, after those with one, by name. */
  order?: number;
}

/** Software to fetch before the pre plug-ins: a URL, or a URL with the SHA-256 its content must have. */
export type DownloadEntry = string | { url: string; sha256?: string };

/** Scratch facts a workflow keeps between steps (survive restarts). */
export interface SessionData {
  /** Free vCPUs when the last SCALE_IN round began, to notice a round that freed nothing. */
  freeVcpusBeforeScaleIn?: number;
  /** Waves started so far (the next wave gets this number plus one). */
  waves?: number;
  /** Unmaintained computes were disabled: from now on instances only go to maintained ones. */
  gate?: boolean;
  /** The question state of the newest wave (what the session shows while waves are emptied). */
  waveState?: 'PREPARE_MAINTENANCE' | 'PLANNED_MAINTENANCE';
  /** Group members that moved, and until when they recover (epoch ms): they count as impacted until then. */
  recovering?: Record<string, number>;
  /** Instances with a lead_time, and when they may be acted on (epoch ms): the notice their project was given. */
  notBefore?: Record<string, number>;
}

export interface Session {
  id: string;
  state: SessionState;
  workflow: string;
  maintenanceAt: number;
  metadata: Record<string, unknown>;
  options: SessionOptions;
  driver: DriverSpec;
  download: DownloadEntry[];
  /** Directories given with `--plugin-dir` at creation, searched after the built-ins. */
  pluginDirs: string[];
  actions: ActionPluginSpec[];
  createdAt: number;
  updatedAt: number;
  /** When the current state was entered. */
  stateEnteredAt: number;
  /** Counts state entries; a question asked in one visit is not the answer to the next. */
  visit: number;
  /** Counts continues of a failed session: what failed in an earlier attempt may be tried again. */
  attempt: number;
  failure: string | null;
  /** The state a failed session failed in, where `update` continues from. */
  failedState: SessionState | null;
  /** Whether hosts, projects and instances have been read from the infrastructure. */
  discovered: boolean;
  /** When the session's view of hosts and instances was last refreshed from the driver. */
  syncedAt: number;
  data: SessionData;
}

/** One host's lane: where it is in its own maintenance, independent of the other hosts. */
export interface Host {
  name: string;
  type: HostType;
  vcpus: number;
  /** As the infrastructure last reported it (lags moves: a host is empty once this says so). */
  vcpusUsed: number;
  memoryMb: number | null;
  memoryMbUsed: number | null;
  state: HostState;
  /** The wave it is emptied and maintained in (null while PENDING). */
  wave: number | null;
  /** In IN_MAINTENANCE: how many of its maintenance steps (its own part, plug-ins) are done. */
  step: number;
  /** Why its lane FAILED. */
  cause: string | null;
  /** When it entered its current lane state (epoch ms). */
  since: number;
  /** Disabled for scheduling by this session (and so to be re-enabled by it). */
  disabled: boolean;
  /** Already disabled before the session started: reported, maintained, left disabled. */
  disabledBefore: boolean;
}

/** What happens to a project nobody answers for (not subscribed): Fenix fails; we can also move its instances. */
export const UNSUBSCRIBED_POLICIES = ['fail', 'migrate', 'live_migrate'] as const;
export type UnsubscribedPolicy = (typeof UNSUBSCRIBED_POLICIES)[number];
export type ProjectPolicy = 'ask' | UnsubscribedPolicy;

export interface Project {
  projectId: string;
  /** ask: subscribed, it answers itself; otherwise its default policy applies. */
  policy: ProjectPolicy;
  /** The state the project was last asked about. */
  state: AskedState | null;
  /** The session visit in which it was asked. */
  visit: number;
  /** The wave a PREPARE_ or PLANNED_MAINTENANCE question was about (null for session-wide questions). */
  wave: number | null;
  /** ACK_X / NACK_X once answered. */
  replyState: string | null;
  replyAt: number | null;
  repliedAt: number | null;
}

export interface Instance {
  instanceId: string;
  name: string;
  projectId: string;
  host: string;
  vcpus: number;
  memoryMb: number | null;
  floatingIp: boolean;
  /** The wave whose host it is leaving (null when it stays where it is). */
  wave: number | null;
  /** Where it is planned to go: its room is reserved there until it arrives. */
  target: string | null;
  /** The action the project chose for it in the current question. */
  action: InstanceAction | null;
  actionDone: boolean;
  /** The asked state this instance is part of (what GET /v1/maintenance/{s}/{p} lists). */
  projectState: AskedState | null;
  /** The id it had before its project re-instantiated it (same name, new id). */
  replacedId: string | null;
}

export const OPERATION_KINDS = [
  'disable_host',
  'enable_host',
  'migrate',
  'live_migrate',
  'host_maintenance',
  'plugin',
  'download',
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** started: recorded, not yet known to be requested; requested: the infrastructure has it. */
export type OperationStatus = 'started' | 'requested' | 'done' | 'failed';

/** An action with side effects, recorded before it runs so a restart can re-check it. */
export interface Operation {
  id: number;
  sessionId: string;
  kind: OperationKind;
  /** Host name or instance id. */
  target: string;
  /** What it is for, unique in the session (e.g. move:w3:INSTANCE, host:compute-1:2): one per lane step. */
  key: string;
  /** The session attempt it belongs to: a continued session retries what failed before. */
  attempt: number;
  params: Record<string, unknown>;
  status: OperationStatus;
  /** When to observe it next (epoch ms). */
  checkAt: number | null;
  /** Give up observing after this (epoch ms). */
  deadline: number | null;
  cause: string | null;
  result: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface SessionEvent {
  id: number;
  sessionId: string | null;
  time: number;
  eventType: string;
  messageId: string;
  payload: Record<string, unknown>;
}

export const SUBSCRIPTION_FORMATS = ['fenix', 'aodh'] as const;
export type SubscriptionFormat = (typeof SUBSCRIPTION_FORMATS)[number];

/** A project's wish to be told: by webhook (url), or followed locally by maintctl (url null). */
export interface Subscription {
  id: number;
  projectId: string;
  eventType: string;
  url: string | null;
  format: SubscriptionFormat;
  /** Only this session's events; null for every session. */
  sessionId: string | null;
  createdAt: number;
  /** The URL's host when --allow-webhook-host named it: each delivery lets it through whatever it resolves to. */
  allowedHost: string | null;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

/** One event on its way to one webhook (the outbox). */
export interface Delivery {
  id: number;
  eventId: number;
  subscriptionId: number;
  sessionId: string | null;
  url: string;
  format: SubscriptionFormat;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  deliveredAt: number | null;
}
