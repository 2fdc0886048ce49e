// What a workflow is: a table of session states and pure handlers. A handler looks at the
// session model at an instant and returns every effect that can start now (a plan); the runner
// records the plan in one transaction and performs it. Handlers never do I/O, so every plan can
// be tested as data: (model, now) -> effects.
import type { OperationKind, SessionData } from '../domain/model.js';
import type { SessionModel } from '../domain/session-model.js';
import type { AskedState, HostState, InstanceAction, SessionState } from '../domain/states.js';

export interface Snapshot {
  now: number;
  model: SessionModel;
}

export interface OperationRequest {
  kind: OperationKind;
  /** Host name or instance id. */
  target: string;
  /** The lane step it is (unique in the session): one operation per key and attempt. */
  key: string;
  params: Record<string, unknown>;
  /** Give up on it after this time (epoch ms), or null for no limit. */
  deadline: number | null;
}

export interface PlannedMove {
  instanceId: string;
  /** The host whose room is reserved for it. */
  to: string;
}

export type Effect =
  /** Enter another session state (a new visit). */
  | { kind: 'transition'; to: SessionState; reason: string; data?: SessionData }
  /** The session fails with this cause (applied alone: nothing else of the plan is); the host's lane too, when one failed. */
  | { kind: 'fail'; cause: string; host?: string }
  /** Read these hosts (null: every host of the session) and their instances from the infrastructure. */
  | { kind: 'sync'; hosts: string[] | null; reason: string }
  /** Notify projects and start their reply deadline. */
  | {
      kind: 'ask';
      state: AskedState;
      projects: string[];
      /** The instances the question is about (what the project API lists). */
      instances: string[];
      allowedActions: InstanceAction[];
      replyAt: number;
      actionsAt: number;
      /** The wave a PREPARE_ or PLANNED_MAINTENANCE question is about. */
      wave: number | null;
      /** Instances with a lead_time: not acted on before these times (epoch ms). */
      notBefore?: Record<string, number>;
      /** One notification per instance (instance_ids: [id]), as later Fenix's vnf workflow asks. */
      perInstance?: boolean;
    }
  /** A new wave: its hosts start emptying, with room reserved for each move. */
  | { kind: 'wave'; wave: number; hosts: string[]; moves: PlannedMove[] }
  /** Record this operation as started, then request it from the infrastructure. */
  | { kind: 'start'; operation: OperationRequest }
  /** A host's lane moves on (maintenance.host notices for IN_MAINTENANCE and MAINTAINED). */
  | { kind: 'lane'; host: string; to: HostState; cause?: string }
  /** A host in maintenance finished a step. */
  | { kind: 'step'; host: string; step: number }
  /** Tell projects their instances are off the host (INSTANCE_ACTION_DONE, one per instance). */
  | { kind: 'instances-done'; instances: string[] }
  /** Nothing more until `until` (epoch ms), a reply, or an operation finishing. */
  | { kind: 'wait'; until: number | null; reason: string };

export type Handler = (snapshot: Snapshot) => Effect[];

export interface Workflow {
  name: string;
  description: string;
  handlers: Record<SessionState, Handler>;
}
