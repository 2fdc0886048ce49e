// maintctl project constraints: a project's application constraints (later Fenix's instance
// groups and instance constraints), as the planner honours them.
import type { Command } from 'commander';
import type { ConstraintsDocument } from '../../domain/constraint-documents.js';
import { NotFoundError } from '../../domain/errors.js';
import type { EngineClient } from '../../client/client.js';
import type { Deps } from '../deps.js';
import type { Run } from '../main.js';
import { emit } from '../render/output.js';
import { styleFor } from '../render/style.js';
import { table } from '../render/table.js';

export function register(project: Command, run: Run): void {
  project
    .command('constraints')
    .description("list a project's application constraints: its instance groups and instances")
    .argument('<project>', 'project id')
    .action((projectId: string) => run((deps) => runConstraints(projectId, deps)));
}

export async function runConstraints(projectId: string, deps: Deps): Promise<void> {
  const doc = await deps.client().constraints(projectId);
  emit(deps.io, deps.format, doc, () => constraintsView(deps, projectId, doc));
}

const seconds = (s: number | null) => (s === null ? '-' : `${s}s`);

function constraintsView(deps: Deps, projectId: string, doc: ConstraintsDocument): string {
  if (!doc.instance_groups.length && !doc.instances.length) return `Project ${projectId} has no constraints.`;
  const c = styleFor(deps.io);
  const groups = table(
    c,
    ['GROUP', 'NAME', 'MAX IMPACTED', 'RECOVERY', 'ANTI-AFFINITY', 'PER HOST'],
    doc.instance_groups.map((g) => [g.group_id, g.group_name || '-', g.max_impacted_members, seconds(g.recovery_time), g.anti_affinity_group ? 'yes' : 'no', g.anti_affinity_group ? 1 : g.max_instances_per_host || 'any']),
  );
  const instances = table(
    c,
    ['INSTANCE', 'GROUP', 'MIGRATION', 'MAX INTERRUPTION', 'LEAD TIME'],
    doc.instances.map((i) => [i.instance_id, i.group_id ?? '-', i.migration_type ?? '-', seconds(i.max_interruption_time), seconds(i.lead_time)]),
  );
  return [doc.instance_groups.length ? groups : '', doc.instances.length ? instances : ''].filter(Boolean).join('\n\n');
}

/** What the project has declared so far; none when the state directory has no store yet (a first write makes it). */
export function knownConstraints(client: EngineClient, projectId: string): Promise<ConstraintsDocument> {
  return client.constraints(projectId).catch((err: unknown) => {
    if (err instanceof NotFoundError) return { instance_groups: [], instances: [] };
    throw err;
  });
}
