// maintctl session logs: what the session's plug-ins wrote, run by run (of one host or plug-in
// if asked), or followed as they write it until the session ends.
import type { Command } from 'commander';
import { SESSION_EVENT } from '../../domain/notifications.js';
import { isTerminal, type SessionState } from '../../domain/states.js';
import type { PluginRunDocument } from '../../engine/plugin-view.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { emit } from '../render/output.js';
import { stateColour, styleFor } from '../render/style.js';

export interface LogsOptions {
  id: string;
  host?: string;
  plugin?: string;
  follow: boolean;
}

/** How often --follow looks for new output (the engine hands it on every 250 ms). */
const POLL_MS = 200;

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('logs')
    .description("show the output of the session's plug-ins, run by run")
    .argument('<id>', 'session id or prefix')
    .option('--host <host>', 'only the runs on this host')
    .option('--plugin <name>', 'only the runs of this plug-in')
    .option('-f, --follow', 'keep printing output as the plug-ins write it, until the session ends')
    .action((id: string, flags: { host?: string; plugin?: string; follow?: boolean }) =>
      run((deps) => runLogs({ id, host: flags.host, plugin: flags.plugin, follow: Boolean(flags.follow) }, deps)),
    );
}

export async function runLogs(options: LogsOptions, deps: Deps): Promise<void> {
  if (options.follow && deps.format !== 'table') throw new UsageError('--follow prints output as it comes: leave out -o json/yaml');
  const client = deps.client();
  const id = await client.resolveId(options.id);
  const filter = { host: options.host, plugin: options.plugin };
  if (!options.follow) {
    const runs = await client.pluginRuns(id, filter);
    emit(deps.io, deps.format, runs, () => (runs.length ? runs.map((r) => `${heading(deps, r)}\n${body(r)}`).join('\n') : 'No plug-in has run.'));
    return;
  }
  await follow(id, options, deps);
}

/** Prints each run's new output as it arrives; returns once the session ended and no run is going. */
async function follow(id: string, options: LogsOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const printed = new Map<number, { chars: number; ended: boolean }>();
  let ended = isTerminal((await client.showSession(id)).state as SessionState);
  let lastEvent = 0;
  for (;;) {
    const events = await client.events(id, lastEvent);
    for (const e of events) {
      lastEvent = e.id;
      if (e.eventType === SESSION_EVENT && isTerminal(e.payload.state as SessionState)) ended = true;
    }
    const runs = await client.pluginRuns(id, { host: options.host, plugin: options.plugin });
    for (const r of runs) write(deps, r, printed);
    if (ended && runs.every((r) => r.status !== 'running')) return;
    await new Promise<void>((resolve) => deps.clock.at(deps.clock.now() + POLL_MS, resolve));
  }
}

function write(deps: Deps, r: PluginRunDocument, printed: Map<number, { chars: number; ended: boolean }>): void {
  const seen = printed.get(r.run_id);
  if (seen?.ended) return;
  if (!seen) deps.io.out.write(`${heading(deps, r, false)}\n`);
  const from = seen?.chars ?? 0;
  const fresh = r.output_chars - from;
  if (fresh > 0) {
    // What was cut from the kept part before it could be printed is said, not guessed.
    const text = fresh <= r.output.length ? r.output.slice(r.output.length - fresh) : `[... ${fresh - r.output.length} characters not kept]\n${r.output}`;
    deps.io.out.write(text);
  }
  const done = r.status !== 'running';
  if (done) deps.io.out.write(`${r.output_chars && !r.output.endsWith('\n') ? '\n' : ''}${footing(deps, r).trimStart()}`);
  printed.set(r.run_id, { chars: r.output_chars, ended: done });
}

const where = (r: PluginRunDocument) => `${r.host ?? 'session'} ${r.plugin} (${r.type})${r.attempt ? `, attempt ${r.attempt + 1}` : ''}`;

function heading(deps: Deps, r: PluginRunDocument, withStatus = true): string {
  const c = styleFor(deps.io);
  const status = withStatus ? `  ${stateColour(c, r.status.toUpperCase())}${r.exit_status === null ? '' : ` exit ${r.exit_status}`}` : '';
  return c.bold(`== ${where(r)}  started ${r.started_at}${status}`);
}

function body(r: PluginRunDocument): string {
  const cut = r.output_truncated ? `[... the first ${r.output_chars - r.output.length} characters were not kept]\n` : '';
  return `${cut}${r.output}${r.output && !r.output.endsWith('\n') ? '\n' : ''}`;
}

function footing(deps: Deps, r: PluginRunDocument): string {
  if (r.status === 'running') return '';
  const c = styleFor(deps.io);
  const status = `${stateColour(c, r.status.toUpperCase())}${r.exit_status === null ? '' : ` exit ${r.exit_status}`}`;
  return `-- ${where(r)} ${status}${r.cause && r.status === 'failed' ? `: ${r.cause.split('; last output:')[0]}` : ''}\n`;
}
