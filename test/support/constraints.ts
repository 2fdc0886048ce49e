// Application constraints as the domain holds them, for tests: a group and its members in one
// project, each with the defaults Fenix's API gives and what the test changes.
import type { GroupConstraint, InstanceConstraint } from '../../src/domain/constraints.js';

export function constraintFixtures(projectId: string, groupId: string) {
  const group = (patch: Partial<GroupConstraint> = {}): GroupConstraint => ({
    groupId,
    projectId,
    groupName: 'web',
    antiAffinityGroup: false,
    maxInstancesPerHost: 0,
    maxImpactedMembers: 1,
    recoveryTime: 0,
    resourceMitigation: false,
    ...patch,
  });
  const member = (instanceId: string, patch: Partial<InstanceConstraint> = {}): InstanceConstraint => ({
    instanceId,
    projectId,
    groupId,
    instanceName: instanceId,
    maxInterruptionTime: null,
    migrationType: null,
    resourceMitigation: false,
    leadTime: 0,
    ...patch,
  });
  return { group, member };
}
