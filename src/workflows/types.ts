// What a workflow is: a table of session states and pure handlers. A handler looks at a snapshot
// of the session (as the store has it) and returns one decision; the engine records the decision
// and performs its effects. Handlers never do I/O, so every decision can be tested as data.
import type { Host, Instance, Operation, OperationKind, Project, Session, SessionData } from '../domain/model.js';
import type { AskedState, HostState, InstanceAction, SessionState } from '../domain/states.js';

export interface Snapshot {
  now: number;
  session: Session;
  hosts: Host[];
  projects: Project[];
  instances: Instance[];
  /** Operations of the current visit, and any still unfinished from earlier ones. */
  operations: Operation[];
}

export interface OperationRequest {
  kind: OperationKind;
  target: string;
  params: Record<string, unknown>;
  /** Give up on it after this time (epoch ms), or null for no limit. */
  deadline: number | null;
}

export type Decision =
  /** Enter another state (a new visit). */
  | { kind: 'transition'; to: SessionState; reason: string; targetHost?: string | null; data?: SessionData }
  | { kind: 'fail'; cause: string }
  /** Read hosts and instances from the infrastructure into the session. */
  | { kind: 'sync'; reason: string }
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
    }
  /** Record these operations as started, then request them from the infrastructure. */
  | { kind: 'start'; operations: OperationRequest[] }
  /** A host enters or leaves maintenance (maintenance.host notice). */
  | { kind: 'host'; host: string; to: Exclude<HostState, 'PENDING'> }
  /** Tell projects their instances are off the host (INSTANCE_ACTION_DONE, one per instance). */
  | { kind: 'instances-done'; instances: string[] }
  /** Nothing to do until `until` (epoch ms), a reply, or an operation finishing. */
  | { kind: 'wait'; until: number | null; reason: string }
  /** Terminal: nothing more will happen until an admin acts. */
  | { kind: 'idle' };

export type Handler = (snapshot: Snapshot) => Decision;

export interface Workflow {
  name: string;
  description: string;
  handlers: Record<SessionState, Handler>;
}
