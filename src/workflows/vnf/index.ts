// Later Fenix's vnf workflow: the default workflow's states and handlers, with projects asked
// about each instance on its own (questions.ts), and scale-in asked of the projects whose instance
// groups allow a member to be impacted (max_impacted_members above 0): a group that allows none
// cannot give up a member either.
import { describeGroup } from '../../domain/constraints.js';
import { defaultWorkflow, scaleInWith } from '../default/index.js';
import { rollingWith } from '../default/rolling.js';
import type { Snapshot, Workflow } from '../types.js';
import { perInstance } from './questions.js';

/** Projects asked to scale in: those with a group that may lose a member, or all when no project declared groups. */
function scalers(s: Snapshot): string[] | { fail: string } {
  const projects = [...s.model.projects()].map((p) => p.projectId);
  const groups = s.model.constraints.groups();
  if (!groups.length) return projects;
  const willing = projects.filter((p) => !groups.some((g) => g.projectId === p) || groups.some((g) => g.projectId === p && g.maxImpactedMembers > 0));
  if (willing.length) return willing;
  return { fail: `no compute can be emptied and no project may scale in: ${groups.map(describeGroup).join('; ')} allow no member to be impacted (max_impacted_members 0)` };
}

const rolling = rollingWith(perInstance);

export const vnfWorkflow: Workflow = {
  name: 'vnf',
  description: "later Fenix's vnf workflow: the default workflow, asking each project about one instance at a time and honouring its constraints",
  handlers: {
    ...defaultWorkflow.handlers,
    SCALE_IN: scaleInWith(scalers),
    PREPARE_MAINTENANCE: rolling,
    START_MAINTENANCE: rolling,
    PLANNED_MAINTENANCE: rolling,
  },
};
