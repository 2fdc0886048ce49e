// maintctl project show: what the session asks of this project right now.
import type { Command } from 'commander';
import type { ProjectDocument } from '../../engine/project-view.js';
import type { Deps } from '../deps.js';
import type { Run } from '../main.js';
import { emit } from '../render/output.js';
import { stateColour, styleFor } from '../render/style.js';
import { table } from '../render/table.js';

export function register(project: Command, run: Run): void {
  project
    .command('show')
    .description('show what a session asks of a project now, and its affected instances')
    .argument('<session>', 'session id or prefix')
    .argument('<project>', 'project id')
    .action((session: string, projectId: string) => run((deps) => runProjectShow(session, projectId, deps)));
}

export async function runProjectShow(session: string, projectId: string, deps: Deps): Promise<void> {
  const doc = await deps.client().showProject(session, projectId);
  emit(deps.io, deps.format, doc, () => projectView(deps, doc));
}

export function projectView(deps: Deps, doc: ProjectDocument): string {
  const c = styleFor(deps.io);
  const asked = doc.state
    ? `${c.bold('Asked')}     ${stateColour(c, doc.state)}${doc.reply_state ? `, answered ${stateColour(c, doc.reply_state)}` : `, reply by ${doc.reply_at ?? '-'} UTC`}`
    : `${c.bold('Asked')}     nothing now (session ${doc.session_state})`;
  const lines = [`${c.bold('Project')}   ${doc.project_id} in session ${doc.session_id}`, asked];
  if (doc.allowed_actions.length) lines.push(`${c.bold('Actions')}   ${doc.allowed_actions.join(', ')}`);
  if (Object.keys(doc.metadata).length) lines.push(`${c.bold('Metadata')}  ${Object.entries(doc.metadata).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
  if (!doc.instances.length) return lines.join('\n');
  const rows = doc.instances.map((i) => [i.instance_id, i.name, i.host, i.action ?? (doc.allowed_actions.length ? '(to choose)' : '-')]);
  return `${lines.join('\n')}\n\n${table(c, ['INSTANCE', 'NAME', 'HOST', 'ACTION'], rows)}`;
}
