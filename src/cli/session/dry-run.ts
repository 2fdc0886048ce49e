// maintctl session create --dry-run: the session rehearsed on a read-only copy of the
// infrastructure (src/engine/rehearsal.ts), and its plan printed. Loaded only for --dry-run.
import { InvalidInputError } from '../../domain/errors.js';
import type { RehearsalPlan, RehearsalTiming, RehearseInput } from '../../engine/rehearsal.js';
import { readCloudFile } from '../../infra/sim/cloud-file.js';
import { storePath } from '../../client/state-dir.js';
import { constraintsIn } from '../../store/constraints.js';
import { subscribedProjectsIn } from '../../store/subscriptions.js';
import type { Deps } from '../deps.js';
import { SessionFailedError } from '../exit-codes.js';
import { emit } from '../render/output.js';
import { stateColour, styleFor } from '../render/style.js';
import { table } from '../render/table.js';

export interface DryRunOptions {
  request: Record<string, unknown>;
  /** --cloud: openstack, openstack:NAME or a sim cloud file. */
  cloud?: string;
  timing: RehearsalTiming;
}

/** How many moves the table lists; the JSON document has them all. */
const MOVES_SHOWN = 20;

export async function runDryRun(options: DryRunOptions, deps: Deps): Promise<void> {
  if (!options.cloud) {
    throw new InvalidInputError('no infrastructure to rehearse on: give --cloud openstack[:NAME] or --cloud FILE (a sim cloud file)');
  }
  const subscribed = deps.stateDir ? subscribedProjectsIn(storePath(deps.stateDir)) : new Set<string>();
  const input: RehearseInput = {
    request: options.request,
    timing: options.timing,
    subscribed: (id) => subscribed.has(id),
    ...(deps.stateDir ? { constraints: constraintsIn(storePath(deps.stateDir)) } : {}),
    now: deps.clock.now(),
    onNote: (note) => deps.io.err.write(`maintctl: note: ${note.message}\n`),
  };
  const openstack = /^openstack(?::(.+))?$/.exec(options.cloud);
  if (openstack) {
    const { OpenStackDriver } = await import('../../infra/openstack/driver.js');
    input.driver = new OpenStackDriver({ cloud: openstack[1] ?? null, env: deps.io.env, clock: deps.clock });
  } else {
    input.cloudFile = readCloudFile(options.cloud);
  }
  const rehearse = deps.rehearse ?? (await import('../../engine/rehearsal.js')).rehearse;
  const plan = await rehearse(input);
  emit(deps.io, deps.format, plan, () => planView(deps, plan));
  // A blocker fails the real session even when the rehearsal (where every project ACKs) got through.
  if (plan.state === 'MAINTENANCE_FAILED' || plan.blockers.length) {
    const reasons = plan.blockers.map((b) => b.reason).join('; ');
    throw new SessionFailedError(
      plan.state === 'MAINTENANCE_FAILED' ? `the rehearsal ended MAINTENANCE_FAILED: ${reasons}` : `the session would fail: ${reasons}`,
    );
  }
}

function planView(deps: Deps, plan: RehearsalPlan): string {
  const c = styleFor(deps.io);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const lines = [
    `Rehearsal: ${stateColour(c, plan.state)} in ${duration(plan.predicted_duration_s)}, ${count(plan.waves.length, 'wave')}, ` +
      `${count(plan.moves.length, 'move')}, ${plan.moves_per_instance} moves per instance`,
    '',
    plan.waves.length
      ? table(c, ['WAVE', 'HOSTS', 'START', 'END'], plan.waves.map((w) => [w.wave, w.hosts.join(','), duration(w.start_s), w.end_s === null ? '-' : duration(w.end_s)]))
      : 'No waves.',
  ];
  if (plan.moves.length) {
    lines.push('', table(c, ['INSTANCE', 'NAME', 'FROM', 'TO', 'ACTION'], plan.moves.slice(0, MOVES_SHOWN).map((m) => [m.instance_id, m.name, m.from, m.to, m.action])));
    if (plan.moves.length > MOVES_SHOWN) lines.push(`... ${plan.moves.length - MOVES_SHOWN} more`);
  }
  if (plan.plugins.length) {
    const shown = plan.plugins.slice(0, MOVES_SHOWN);
    lines.push('', table(c, ['PLUG-IN', 'TYPE', 'WHERE', 'START', 'EXPECTED'], shown.map((p) => [p.plugin, p.type, p.host ?? 'session', duration(p.start_s), duration(p.expected_s)])));
    if (plan.plugins.length > MOVES_SHOWN) lines.push(`... ${plan.plugins.length - MOVES_SHOWN} more plug-in runs`);
  }
  if (plan.blockers.length) {
    lines.push('', table(c, ['BLOCKER', 'REASON'], plan.blockers.map((b) => [b.host ?? '-', b.reason])));
  }
  lines.push('', 'Nothing was changed: this was a rehearsal on a copy.');
  return lines.join('\n');
}

/** Seconds for people: 45s, 4m44s, 2h05m. */
function duration(totalSeconds: number): string {
  const s = Math.round(totalSeconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
