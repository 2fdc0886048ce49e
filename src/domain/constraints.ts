// Application constraints (later Fenix's instance groups and instance constraints): how much
// disruption a project's instances take. Pure rules the planner asks: how many members of a group
// may be impacted at once, when a member may be touched again, where a member may be placed, what
// action an instance gets when its project names none, and whether a live migration is too long.
import type { InstanceAction } from './states.js';

/** PUT /v1/instance_group/{group_id}: a group of a project's instances and what it tolerates. */
export interface GroupConstraint {
  groupId: string;
  projectId: string;
  groupName: string;
  /** Never two members on one host. */
  antiAffinityGroup: boolean;
  /** At most this many members on one host (0: no limit). */
  maxInstancesPerHost: number;
  /** At most this many members impacted (being moved, or recovering from a move) at once. */
  maxImpactedMembers: number;
  /** Seconds a member needs after its move before it counts as healthy again. */
  recoveryTime: number;
  /** Stored as Fenix keeps it (the group can run on fewer resources); not used for planning yet. */
  resourceMitigation: boolean;
}

/** PUT /v1/instance/{instance_id}: one instance's constraints. */
export interface InstanceConstraint {
  instanceId: string;
  projectId: string;
  groupId: string | null;
  instanceName: string;
  /** Seconds the instance may be interrupted; a live migration estimated longer is not used. Null: no limit. */
  maxInterruptionTime: number | null;
  /** The action taken when the project names none. */
  migrationType: InstanceAction | null;
  resourceMitigation: boolean;
  /** Seconds of notice the project gets before the instance is acted on (actions_at). */
  leadTime: number;
}

export interface ConstraintRows {
  groups: GroupConstraint[];
  instances: InstanceConstraint[];
}

/** What the infrastructure expects a move to take (seconds), or null when it cannot tell. */
export interface MoveEstimates {
  liveMigrateS: number | null;
}

/** The constraints of a session's projects, indexed for the planner. */
export class Constraints {
  private readonly groups_ = new Map<string, GroupConstraint>();
  private readonly byInstance = new Map<string, InstanceConstraint>();
  private readonly members = new Map<string, string[]>();

  constructor(
    rows: ConstraintRows = { groups: [], instances: [] },
    readonly estimates: MoveEstimates = { liveMigrateS: null },
  ) {
    for (const g of rows.groups) this.groups_.set(g.groupId, g);
    for (const i of rows.instances) {
      this.byInstance.set(i.instanceId, i);
      if (i.groupId !== null && this.groups_.has(i.groupId)) this.members.set(i.groupId, [...(this.members.get(i.groupId) ?? []), i.instanceId]);
    }
  }

  get isEmpty(): boolean {
    return this.groups_.size === 0 && this.byInstance.size === 0;
  }

  instance(id: string): InstanceConstraint | undefined {
    return this.byInstance.get(id);
  }

  /** The group an instance belongs to (by its instance constraint's group_id). */
  groupOf(instanceId: string): GroupConstraint | undefined {
    const groupId = this.byInstance.get(instanceId)?.groupId;
    return groupId ? this.groups_.get(groupId) : undefined;
  }

  membersOf(groupId: string): readonly string[] {
    return this.members.get(groupId) ?? [];
  }

  /** Every group of the session's projects. */
  groups(): GroupConstraint[] {
    return [...this.groups_.values()];
  }

  /** Groups that limit how many members share a host. */
  spreadGroups(): GroupConstraint[] {
    return [...this.groups_.values()].filter((g) => perHostLimit(g) < Number.POSITIVE_INFINITY);
  }

  /** The action an instance gets when its project (or its policy) names none: its migration_type. */
  defaultAction(instanceId: string): InstanceAction | null {
    return this.byInstance.get(instanceId)?.migrationType ?? null;
  }

  /** Why a live migration of the instance is not used (its estimate is over max_interruption_time), or null. */
  liveMigrationRefusal(instanceId: string): string | null {
    const limit = this.byInstance.get(instanceId)?.maxInterruptionTime ?? null;
    const estimate = this.estimates.liveMigrateS;
    if (limit === null || estimate === null || estimate <= limit) return null;
    return `a live migration is estimated at ${estimate} s, over the instance's max_interruption_time of ${limit} s`;
  }

  /** Seconds of notice before the instance is acted on (0 without a lead_time). */
  leadTime(instanceId: string): number {
    return this.byInstance.get(instanceId)?.leadTime ?? 0;
  }
}

export const NO_CONSTRAINTS = new Constraints();

/** How many members of the group one host may hold. */
export function perHostLimit(g: GroupConstraint): number {
  if (g.antiAffinityGroup) return 1;
  return g.maxInstancesPerHost > 0 ? g.maxInstancesPerHost : Number.POSITIVE_INFINITY;
}

export const describeGroup = (g: GroupConstraint) => `instance group ${g.groupName || g.groupId} (${g.groupId}) of project ${g.projectId}`;

/**
 * Placement under anti-affinity and max_instances_per_host: members counted per host (where they
 * are, or where they are planned to go), so a wave's moves never put too many on one host. The
 * groups that refused a host are kept, to say what blocked a plan that found no room.
 */
export class SpreadRule {
  private readonly counts = new Map<string, number>();
  private readonly where = new Map<string, string>();
  readonly refused = new Set<GroupConstraint>();

  constructor(
    private readonly constraints: Constraints,
    /** Where each member is, or is heading (null: not in the session). */
    placeOf: (instanceId: string) => string | null,
  ) {
    for (const g of constraints.spreadGroups()) {
      for (const id of constraints.membersOf(g.groupId)) {
        const host = placeOf(id);
        if (host === null) continue;
        this.where.set(id, host);
        this.bump(g.groupId, host, 1);
      }
    }
  }

  /** Whether the instance may go to the host; a refusal is remembered. */
  allows(instanceId: string, host: string): boolean {
    const g = this.limited(instanceId);
    if (!g || this.where.get(instanceId) === host) return true;
    const ok = (this.counts.get(`${g.groupId}\n${host}`) ?? 0) < perHostLimit(g);
    if (!ok) this.refused.add(g);
    return ok;
  }

  /** Records that the instance goes to the host; returns the undo. */
  place(instanceId: string, host: string): () => void {
    const g = this.limited(instanceId);
    if (!g) return () => undefined;
    const from = this.where.get(instanceId);
    this.move(g.groupId, instanceId, from, host);
    return () => this.move(g.groupId, instanceId, host, from);
  }

  private move(groupId: string, id: string, from: string | undefined, to: string | undefined): void {
    if (from !== undefined) this.bump(groupId, from, -1);
    if (to !== undefined) {
      this.bump(groupId, to, 1);
      this.where.set(id, to);
    } else this.where.delete(id);
  }

  private limited(instanceId: string): GroupConstraint | undefined {
    const g = this.constraints.groupOf(instanceId);
    return g && perHostLimit(g) < Number.POSITIVE_INFINITY ? g : undefined;
  }

  private bump(groupId: string, host: string, by: number): void {
    const key = `${groupId}\n${host}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }
}

/** What a spread group's refusal means, in a sentence. */
export function spreadLimitText(g: GroupConstraint): string {
  return g.antiAffinityGroup ? `anti-affinity of ${describeGroup(g)}` : `max_instances_per_host ${g.maxInstancesPerHost} of ${describeGroup(g)}`;
}

/** When the instance's group lets another member be touched: its members' recovery ends. */
export function recoveryUntil(g: GroupConstraint, movedAt: number): number {
  return movedAt + g.recoveryTime * 1000;
}
