// The documents about plug-in runs: `session logs -o json` (every run with its kept output) and
// the `plugins` part of `session show` (the newest run of each step with its last lines).
// Shapes documented in README ("Writing a plug-in").
import { formatIso } from '../domain/time.js';
import { pluginRuns, type PluginRun, type PluginRunFilter } from '../store/plugin-runs.js';
import type { Store } from '../store/store.js';
import { lastLines } from './plugins.js';

export interface PluginRunDocument {
  run_id: number;
  /** null for pre and post plug-ins. */
  host: string | null;
  plugin: string;
  type: string;
  /** The session attempt (0, then one more each time the session is continued). */
  attempt: number;
  status: 'running' | 'done' | 'failed';
  exit_status: number | null;
  cause: string | null;
  started_at: string;
  ended_at: string | null;
  /** stdout and stderr as they came, the last MiB of them. */
  output: string;
  /** Characters written in all; more than output holds when output_truncated. */
  output_chars: number;
  output_truncated: boolean;
}

export type PluginRunLine = Pick<PluginRunDocument, 'host' | 'plugin' | 'type' | 'attempt' | 'status' | 'exit_status'> & {
  /** Its last lines of output. */
  last_lines: string[];
};

/** What both documents say of a run. */
const about = (r: PluginRun) => ({ host: r.host, plugin: r.plugin, type: r.type, attempt: r.attempt, status: r.status, exit_status: r.exitStatus });

const document = (r: PluginRun): PluginRunDocument => ({
  run_id: r.id,
  ...about(r),
  cause: r.cause,
  started_at: formatIso(r.startedAt),
  ended_at: r.endedAt === null ? null : formatIso(r.endedAt),
  output: r.output,
  output_chars: r.outputChars,
  output_truncated: r.outputChars > r.output.length,
});

export function pluginRunDocuments(store: Store, sessionId: string, filter: PluginRunFilter = {}): PluginRunDocument[] {
  return pluginRuns(store, sessionId, filter).map(document);
}

/** Lines of output `session show` gives each run. */
const SHOWN_LINES = 3;

/** The newest run of each plug-in step of the session (from its runs' tails), in the order they started, with its last lines. */
export function pluginRunLines(tails: PluginRun[]): PluginRunLine[] {
  const newest = new Map<string, PluginRun>();
  for (const r of tails) newest.set(r.key, r);
  return [...newest.values()]
    .sort((a, b) => a.id - b.id)
    .map((r) => ({ ...about(r), last_lines: lastLines(r.output, SHOWN_LINES) }));
}
