// How a session looks to people: a header, then hosts, projects and (on request) instances.
import type { ChalkInstance } from 'chalk';
import type { SessionDocument, SessionSummary } from '../../engine/session-view.js';
import { isTerminal, type SessionState } from '../../domain/states.js';
import { stateColour } from './style.js';
import { table } from './table.js';

export function ago(fromIso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d`;
}

export function sessionList(c: ChalkInstance, sessions: SessionSummary[], now: number): string {
  if (!sessions.length) return 'No sessions.';
  return table(
    c,
    ['ID', 'STATE', 'WORKFLOW', 'HOSTS', 'STARTED', 'AGE'],
    sessions.map((s) => [
      s.session_id,
      stateColour(c, s.state),
      s.workflow,
      `${s.hosts_maintained}/${s.hosts_total}`,
      s.created_at.slice(0, 19).replace('T', ' '),
      ago(s.created_at, now),
    ]),
  );
}

export function sessionView(c: ChalkInstance, doc: SessionDocument, now: number, options: { instances?: boolean } = {}): string {
  const finished = isTerminal(doc.state as SessionState);
  const elapsed = finished ? ago(doc.created_at, Date.parse(doc.updated_at)) : ago(doc.created_at, now);
  const header = [
    `${c.bold('Session')}   ${doc.session_id}`,
    `${c.bold('State')}     ${stateColour(c, doc.state)}  ${doc.percent_done}% done  ${elapsed}${finished ? '' : ' elapsed'}`,
    `${c.bold('Workflow')}  ${doc.workflow}, maintenance at ${doc.maintenance_at} UTC`,
  ];
  if (doc.failure) header.push(`${c.bold('Failure')}   ${c.red(doc.failure)}`);
  if (doc.emptying.length && !finished) header.push(`${c.bold('Emptying')}  ${doc.emptying.join(', ')}`);
  // Older servers send no runner.
  if (doc.runner && !finished) header.push(`${c.bold('Run by')}    ${doc.runner.replica} (pid ${doc.runner.pid} on ${doc.runner.hostname}), lease until ${doc.runner.lease_expires_at}`);
  const hosts = table(
    c,
    ['HOST', 'TYPE', 'STATE', 'INSTANCES', 'SCHEDULING'],
    doc.hosts.map((h) => [h.name, h.type, stateColour(c, h.state), h.instances, h.disabled_before ? 'disabled before' : h.disabled ? 'disabled' : 'enabled']),
  );
  const parts = [header.join('\n'), hosts];
  if (doc.projects.length) {
    parts.push(
      table(
        c,
        ['PROJECT', 'ASKED', 'REPLY', 'REPLY BY'],
        doc.projects.map((p) => [p.project_id, p.state ?? '-', p.reply_state ? stateColour(c, p.reply_state) : '-', p.reply_at ?? '-']),
      ),
    );
  }
  const plugins = pluginLines(c, doc);
  if (plugins) parts.push(plugins);
  const d = doc.deliveries;
  if (d.delivered + d.pending + d.failed > 0) {
    const failures = d.failures.map((f) => `  ${c.red('failed')} ${f.event_type} #${f.event_id} to ${f.url} after ${f.attempts} attempts: ${f.last_error ?? ''}`);
    parts.push([`${c.bold('Webhooks')}  ${d.delivered} delivered, ${d.pending} pending, ${d.failed} failed`, ...failures].join('\n'));
  }
  if (options.instances && doc.instances.length) {
    parts.push(
      table(
        c,
        ['INSTANCE', 'NAME', 'PROJECT', 'HOST', 'ACTION', 'DONE'],
        doc.instances.map((i) => [i.instance_id, i.name, i.project_id, i.host, i.action ?? '-', i.action_done ? 'yes' : 'no']),
      ),
    );
  }
  return parts.join('\n\n');
}

/** A count of the plug-in runs, and the ones running or failed with their last lines (the rest: session logs). */
function pluginLines(c: ChalkInstance, doc: SessionDocument): string | null {
  if (!doc.plugins.length) return null;
  const count = (status: string) => doc.plugins.filter((p) => p.status === status).length;
  const lines = [`${c.bold('Plug-ins')}  ${count('done')} done, ${count('running')} running, ${count('failed')} failed (output: maintctl session logs ${doc.session_id.slice(0, 8)})`];
  for (const p of doc.plugins.filter((x) => x.status !== 'done')) {
    const exit = p.exit_status === null ? '' : ` exit ${p.exit_status}`;
    lines.push(`  ${p.host ?? 'session'}  ${p.plugin} (${p.type})  ${stateColour(c, p.status.toUpperCase())}${exit}`);
    for (const l of p.last_lines) lines.push(`    | ${l}`);
  }
  return lines.join('\n');
}
