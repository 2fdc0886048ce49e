// When a move may start, by the application constraints: not before its project's notice
// (lead_time) ran out, and not while its group has max_impacted_members members impacted (moving,
// moved by their project, or recovering for recovery_time after a move). A group that allows no
// member to be impacted blocks its members' hosts for good: that is said, not waited on.
import { describeGroup, type GroupConstraint } from '../../domain/constraints.js';
import type { Instance } from '../../domain/model.js';
import { formatFenixTime } from '../../domain/time.js';
import type { Snapshot } from '../types.js';

export type Verdict =
  | { go: true }
  /** Wait until then (null: until something finishes). */
  | { go: false; until: number | null; reason: string }
  /** It can never start as the constraints stand. */
  | { go: false; blocked: string };

export class MoveGate {
  /** Group id -> instances impacted now. */
  private readonly impacted = new Map<string, Set<string>>();
  /** Group id -> when its first recovering member recovers. */
  private readonly recovers = new Map<string, number>();

  constructor(private readonly s: Snapshot) {
    const m = s.model;
    const c = m.constraints;
    if (c.isEmpty) return;
    for (const op of m.openOperations()) if (op.kind === 'migrate' || op.kind === 'live_migrate') this.count(op.target);
    for (const id of m.ownActions) this.count(id);
    // Arrived this instant: recovery is recorded when their INSTANCE_ACTION_DONE goes out, in this same plan.
    for (const id of m.arrived) if ((c.groupOf(id)?.recoveryTime ?? 0) > 0) this.count(id, s.now + c.groupOf(id)!.recoveryTime * 1000);
    for (const [id, until] of Object.entries(m.session.data.recovering ?? {})) if (until > s.now) this.count(id, until);
  }

  check(inst: Instance): Verdict {
    const { now, model: m } = this.s;
    const notBefore = m.session.data.notBefore?.[inst.instanceId] ?? 0;
    if (notBefore > now) return { go: false, until: notBefore, reason: `${inst.name} is acted on from ${formatFenixTime(notBefore)} UTC (its lead_time)` };
    const g = m.constraints.groupOf(inst.instanceId);
    if (!g) return { go: true };
    if (g.maxImpactedMembers === 0) {
      return { go: false, blocked: `${describeGroup(g)} allows no member to be impacted (max_impacted_members 0): ${inst.name} (${inst.instanceId}) cannot leave ${inst.host}` };
    }
    const impacted = this.impacted.get(g.groupId)?.size ?? 0;
    if (impacted < g.maxImpactedMembers) return { go: true };
    return { go: false, until: this.recovers.get(g.groupId) ?? null, reason: waitText(g, impacted) };
  }

  /** A move that starts now counts against its group. */
  started(instanceId: string): void {
    this.count(instanceId);
  }

  private count(instanceId: string, recoversAt?: number): void {
    const g = this.s.model.constraints.groupOf(instanceId);
    if (!g) return;
    let set = this.impacted.get(g.groupId);
    if (!set) this.impacted.set(g.groupId, (set = new Set()));
    set.add(instanceId);
    if (recoversAt !== undefined) this.recovers.set(g.groupId, Math.min(recoversAt, this.recovers.get(g.groupId) ?? Number.POSITIVE_INFINITY));
  }
}

const waitText = (g: GroupConstraint, impacted: number) =>
  `${describeGroup(g)} has ${impacted} members impacted (max_impacted_members ${g.maxImpactedMembers})`;
