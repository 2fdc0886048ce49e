// PREPARE_MAINTENANCE, START_MAINTENANCE and PLANNED_MAINTENANCE: hosts progress in lanes, several
// at once. Each pass returns every effect that can start now: waves of hosts to empty (one
// question per project and wave), the moves the projects chose (up to max_migrations at once),
// hosts found empty, hosts entering maintenance and their steps, maintained hosts enabled again.
// The session state follows what projects are asked: the newest wave's state while instances
// leave their hosts, START_MAINTENANCE otherwise.
import { isMove } from '../../domain/policy.js';
import type { SessionModel } from '../../domain/session-model.js';
import { MOVE_ACTIONS, type SessionState } from '../../domain/states.js';
import { formatFenixTime } from '../../domain/time.js';
import type { Instance } from '../../domain/model.js';
import type { Effect, Handler, OperationRequest, Snapshot } from '../types.js';
import { MoveGate } from './limits.js';
import { ask, verdict } from './asking.js';
import { POLL_MS, ensureOperation, hostSteps, wait } from './steps.js';
import { cannotEmpty, phaseOf, placeOnly, planWave } from './waves.js';

/** How projects are asked about the moves of a wave: one question per project and wave here; the vnf workflow asks per instance. */
export interface WaveQuestions {
  /** The questions asked with a new wave about its moves. */
  about(s: Snapshot, wave: number, instances: string[]): Effect[];
  /** Questions due about waves under way (asked again after a restart, or the next of a sequence). */
  due(s: Snapshot): Effect[];
  /** Whether a new wave may be planned now (none of its questions would meet one still to come). */
  mayPlan(s: Snapshot): boolean;
}

/** One question per project and wave, about all of its instances in the wave. */
export const perWave: WaveQuestions = {
  about: (s, wave, instances) => {
    const m = s.model;
    const projects = [...new Set(instances.map((id) => m.instance(id)!.projectId))].sort();
    return ask(s, { state: waveState(s), projects, instances, allowedActions: [...MOVE_ACTIONS], timeout: m.session.options.projectMaintenanceReply, wave }) ?? [];
  },
  due: (s) => reask(s),
  mayPlan: () => true,
};

/** The rolling states' handler, asking projects as `questions` says. */
export function rollingWith(questions: WaveQuestions): Handler {
  return (s) => {
    const effects = [...questions.due(s), ...emptying(s), ...arrivals(s), ...waveAnswers(s), ...moves(s), ...maintenance(s)];
    const wave = effects.some((e) => e.kind === 'fail') || !questions.mayPlan(s) ? [] : nextWave(s, questions);
    return [...label(s, wave), ...effects, ...wave, ...completion(s)];
  };
}

export const rolling: Handler = rollingWith(perWave);

// ---- hosts being emptied

function emptying(s: Snapshot): Effect[] {
  const m = s.model;
  // Out of scheduling first: otherwise the cloud (an OWN_ACTION re-instantiation, a new server) may put an instance there.
  const out: Effect[] = [...m.emptyingEnabled].flatMap((name) => disable(s, name) ?? []);
  const stale: string[] = [];
  for (const name of m.drained) {
    const host = m.host(name)!;
    if (!host.disabled && !host.disabledBefore) continue;
    const left = Math.max(m.lastLeft(name), host.since);
    // Usage lags moves: the host counts as empty only once the infrastructure reports it so.
    if (m.hostSyncedAt(name) < left) stale.push(name);
    else if (host.vcpusUsed === 0) out.push({ kind: 'lane', host: name, to: 'EMPTY' });
    else {
      const deadline = left + m.session.options.hostEmptyTimeout * 1000;
      if (s.now >= deadline) {
        out.push({ kind: 'fail', cause: `${name} still reports ${host.vcpusUsed} vCPUs in use ${m.session.options.hostEmptyTimeout} s after its instances left` });
      } else if (s.now >= m.hostSyncedAt(name) + POLL_MS) stale.push(name);
      else out.push(wait(Math.min(m.hostSyncedAt(name) + POLL_MS, deadline), `waiting for ${name} to report empty`));
    }
  }
  if (stale.length) out.push({ kind: 'sync', hosts: stale, reason: `check that ${stale.join(', ')} ${stale.length > 1 ? 'are' : 'is'} empty` });
  return out;
}

/** Instances that left a wave's host: their projects are told (INSTANCE_ACTION_DONE). */
function arrivals(s: Snapshot): Effect[] {
  return s.model.arrived.size ? [{ kind: 'instances-done', instances: [...s.model.arrived] }] : [];
}

/** NACKs and missed deadlines of wave questions. */
function waveAnswers(s: Snapshot): Effect[] {
  const m = s.model;
  const asked = [...m.rejected, ...m.openQuestions].map((id) => m.project(id)!).filter((p) => p.wave !== null);
  if (!asked.length) return [];
  const byState = new Map<string, typeof asked>();
  for (const p of asked) byState.set(p.state!, [...(byState.get(p.state!) ?? []), p]);
  return [...byState].flatMap(([state, rows]) => verdict(s, rows, state as 'PLANNED_MAINTENANCE') ?? []);
}

/**
 * After a restart or a continue: instances of a wave whose project's answer is missing (its
 * question belonged to an earlier visit) are asked about again.
 */
function reask(s: Snapshot): Effect[] {
  const m = s.model;
  if (!m.freshlyLoaded || m.openQuestions.size) return [];
  const byQuestion = new Map<string, { wave: number; state: 'PREPARE_MAINTENANCE' | 'PLANNED_MAINTENANCE'; projects: Set<string>; instances: string[] }>();
  for (const id of m.inWave) {
    const inst = m.instance(id)!;
    if (inst.action !== null) continue;
    const state = inst.projectState === 'PREPARE_MAINTENANCE' ? 'PREPARE_MAINTENANCE' : 'PLANNED_MAINTENANCE';
    const key = `${inst.wave}:${state}`;
    const q = byQuestion.get(key) ?? { wave: inst.wave!, state, projects: new Set<string>(), instances: [] };
    q.projects.add(inst.projectId);
    q.instances.push(id);
    byQuestion.set(key, q);
  }
  return [...byQuestion.values()].flatMap(
    (q) =>
      ask(s, {
        state: q.state,
        projects: [...q.projects].sort(),
        instances: q.instances,
        allowedActions: [...MOVE_ACTIONS],
        timeout: m.session.options.projectMaintenanceReply,
        wave: q.wave,
      }) ?? [],
  );
}

/** The moves projects chose, up to max_migrations at once; OWN_ACTION instances are watched until gone. */
function moves(s: Snapshot): Effect[] {
  const m = s.model;
  const failed = failedMove(s);
  if (failed) return [failed];
  const out: Effect[] = [];
  let running = m.openOperations().filter((op) => op.kind === 'migrate' || op.kind === 'live_migrate').length;
  const gate = new MoveGate(s);
  const waits: Effect[] = [];
  for (const id of m.inWave) {
    if (running >= m.session.options.maxMigrations) break; // the rest wait for a free slot
    const inst = m.instance(id)!;
    if (!isMove(inst.action)) continue;
    const key = `move:${id}:w${inst.wave}`;
    const op = m.operation(key);
    if (op && !(op.status === 'failed' && op.attempt < m.session.attempt)) continue;
    const verdict = gate.check(inst);
    if ('blocked' in verdict) return [{ kind: 'fail', cause: verdict.blocked, host: inst.host }];
    if (!verdict.go) {
      waits.push(wait(verdict.until, verdict.reason));
      continue;
    }
    gate.started(id);
    running++;
    out.push({ kind: 'start', operation: moveOperation(s, inst, key) });
  }
  out.push(...waits);
  const watched = new Set([...m.ownActions].map((id) => m.instance(id)!.host));
  for (const host of watched) out.push(...ownAction(s, host));
  return out;
}

/** The move the instance's action asks for; a live migration estimated over its max_interruption_time is a cold one instead. */
function moveOperation(s: Snapshot, inst: Instance, key: string): OperationRequest {
  const refusal = inst.action === 'LIVE_MIGRATE' ? s.model.constraints.liveMigrationRefusal(inst.instanceId) : null;
  const live = inst.action === 'LIVE_MIGRATE' && refusal === null;
  return {
    kind: live ? 'live_migrate' : 'migrate',
    target: inst.instanceId,
    key,
    params: { name: inst.name, from: inst.host, to: inst.target, ...(refusal ? { instead_of: 'LIVE_MIGRATE', why: refusal } : {}) },
    deadline: s.now + s.model.session.options.migrationTimeout * 1000,
  };
}

/** A move of this attempt that failed fails the session, naming the instance. */
function failedMove(s: Snapshot): Effect | null {
  const m = s.model;
  for (const op of m.failedOperations) {
    if ((op.kind !== 'migrate' && op.kind !== 'live_migrate') || op.attempt < m.session.attempt) continue;
    const inst = m.instance(op.target);
    const action = op.kind === 'live_migrate' ? 'LIVE_MIGRATE' : 'MIGRATE';
    return { kind: 'fail', cause: `${action} of instance ${inst?.name ?? String(op.params.name)} (${op.target}) from ${String(op.params.from)} failed: ${op.cause ?? 'no cause given'}` };
  }
  return null;
}

/** OWN_ACTION: the project moves its instances itself; look until they are gone, up to the host-empty timeout. */
function ownAction(s: Snapshot, host: string): Effect[] {
  const m = s.model;
  const waiting = m.instancesOn(host).filter((i) => m.ownActions.has(i.instanceId));
  const since = Math.max(m.host(host)!.since, ...waiting.map((i) => m.project(i.projectId)?.repliedAt ?? 0));
  const deadline = since + m.session.options.hostEmptyTimeout * 1000;
  if (s.now >= deadline) {
    const i = waiting[0]!;
    return [{ kind: 'fail', cause: `project ${i.projectId} chose OWN_ACTION for instance ${i.name} (${i.instanceId}) but it was still on ${host} at ${formatFenixTime(deadline)} UTC` }];
  }
  const next = m.hostSyncedAt(host) + POLL_MS;
  if (s.now >= next) return [{ kind: 'sync', hosts: [host], reason: `see whether ${waiting.map((i) => i.name).join(', ')} left ${host}` }];
  return [wait(Math.min(next, deadline), `waiting for ${waiting[0]!.projectId} to move ${waiting.map((i) => i.name).join(', ')}`)];
}

// ---- maintenance

function maintenance(s: Snapshot): Effect[] {
  const m = s.model;
  const out: Effect[] = [];
  for (const name of m.maintainedDisabled) {
    out.push(...(ensureOperation(s, { request: { kind: 'enable_host', target: name, key: `enable:${name}`, params: {}, deadline: null }, describe: `enabling ${name}` }) ?? []));
  }
  if (m.enabledUnmaintained.size) return [...out, ...disableUnmaintained(s)];
  const controllers = m.inLane('controller', 'IN_MAINTENANCE');
  for (const name of controllers) out.push(...continueHost(s, name));
  const nextController = [...m.inLane('controller', 'PENDING')].sort()[0];
  if (!controllers.size && nextController) out.push({ kind: 'lane', host: nextController, to: 'IN_MAINTENANCE' });
  // Controllers first, one at a time: computes are maintained once the control plane is.
  if (controllers.size || nextController) return out;
  for (const name of m.inLane('compute', 'EMPTY')) out.push({ kind: 'lane', host: name, to: 'IN_MAINTENANCE' });
  for (const name of m.inLane('compute', 'IN_MAINTENANCE')) out.push(...continueHost(s, name));
  return out;
}

/**
 * Once a compute is empty and every move onto unmaintained computes has landed, every
 * unmaintained compute is disabled for scheduling (as Fenix does): instances may then only land
 * on maintained hosts.
 */
function disableUnmaintained(s: Snapshot): Effect[] {
  const m = s.model;
  const ready = m.count('compute', 'EMPTY') > 0 || m.count('compute', 'PENDING') + m.count('compute', 'EMPTYING') === 0;
  if (!ready || m.inWave.size || m.openQuestions.size) return [];
  return [...m.enabledUnmaintained].flatMap((name) => disable(s, name) ?? []);
}

const disable = (s: Snapshot, name: string) =>
  ensureOperation(s, { request: { kind: 'disable_host', target: name, key: `disable:${name}`, params: { reason: 'maintenance' }, deadline: null }, describe: `disabling ${name}` });

function continueHost(s: Snapshot, name: string): Effect[] {
  const host = s.model.host(name)!;
  const steps = hostSteps(s, host);
  if (host.step >= steps.length) return [{ kind: 'lane', host: name, to: 'MAINTAINED' }];
  const effects = ensureOperation(s, steps[host.step]!);
  if (effects) return effects;
  const step: Effect = { kind: 'step', host: name, step: host.step + 1 };
  return host.step + 1 >= steps.length ? [step, { kind: 'lane', host: name, to: 'MAINTAINED' }] : [step];
}

// ---- the next wave

/** The situation in which the last plan of a model found no wave, and the constraints that refused placements then. */
const fruitless = new WeakMap<SessionModel, { situation: string; blockedBy: string[] }>();

function nextWave(s: Snapshot, questions: WaveQuestions): Effect[] {
  const m = s.model;
  const { maxParallelHosts } = m.session.options;
  if (m.openQuestions.size || m.rejected.size) return [];
  if (m.strays.size) return placeStragglers(s, [...m.strays], questions);
  if (m.count('compute', 'PENDING') === 0 || m.count('controller', 'IN_MAINTENANCE')) return [];
  const inFlight = m.count('compute', 'EMPTYING') + m.count('compute', 'EMPTY') + m.count('compute', 'IN_MAINTENANCE');
  const slots = maxParallelHosts === 'auto' ? Number.POSITIVE_INFINITY : maxParallelHosts - inFlight;
  if (slots <= 0) return [];
  const phase = phaseOf(m);
  if (phase === 'prepare' && m.count('compute', 'EMPTY') > 0) return [];
  if (phase === 'planned' && m.enabledUnmaintained.size) return [];
  // Planning costs O(hosts): tried again only once the room, the slots or the pending hosts changed.
  const room = m.freeRoom(phase === 'planned' ? 'MAINTAINED' : 'PENDING');
  const situation = `${phase}|${slots}|${room.vcpus}|${room.memoryMb}|${m.pendingRevision}`;
  const known = fruitless.get(m);
  if (known?.situation === situation) return stuck(s, inFlight, known.blockedBy);
  const plan = planWave(s, slots, phase);
  if (!plan.hosts.length) {
    fruitless.set(m, { situation, blockedBy: plan.blockedBy });
    return stuck(s, inFlight, plan.blockedBy);
  }
  const wave = (m.session.data.waves ?? 0) + 1;
  const effects: Effect[] = [{ kind: 'wave', wave, hosts: plan.hosts, moves: plan.moves }];
  if (!plan.moves.length) return effects;
  return [...effects, ...questions.about(s, wave, plan.moves.map((mv) => mv.instanceId))];
}

/** Instances found on a host being emptied that belong to no wave (they arrived after it was planned) leave in a wave of their own. */
function placeStragglers(s: Snapshot, ids: string[], questions: WaveQuestions): Effect[] {
  const m = s.model;
  const plan = placeOnly(s, ids);
  if (!plan) {
    const names = ids.map((id) => `${m.instance(id)!.name} on ${m.instance(id)!.host}`).join(', ');
    return [{ kind: 'fail', cause: `${names} appeared while the host was being emptied, and no host that may take instances has room for it` }];
  }
  const wave = (m.session.data.waves ?? 0) + 1;
  return [{ kind: 'wave', wave, hosts: [], moves: plan }, ...questions.about(s, wave, ids)];
}

/** Nothing is in flight and no pending compute can be emptied: say why instead of waiting forever. */
function stuck(s: Snapshot, inFlight: number, blockedBy: readonly string[]): Effect[] {
  const m = s.model;
  if (inFlight || m.inWave.size || m.openOperations().length || m.maintainedDisabled.size) return [];
  return [{ kind: 'fail', cause: cannotEmpty(m, blockedBy) }];
}

export const waveState = (s: Snapshot) => (phaseOf(s.model) === 'prepare' ? 'PREPARE_MAINTENANCE' : 'PLANNED_MAINTENANCE');

// ---- the session state

/** The session shows the newest wave's state while instances leave their hosts, START_MAINTENANCE otherwise. */
function label(s: Snapshot, wave: Effect[]): Effect[] {
  const m = s.model;
  const asking = wave.some((e) => e.kind === 'ask');
  const busy = asking || m.inWave.size > 0 || m.openQuestions.size > 0;
  const to: SessionState = busy ? (asking ? waveState(s) : (m.session.data.waveState ?? waveState(s))) : 'START_MAINTENANCE';
  if (to === m.session.state || (!busy && allMaintained(s))) return [];
  const reason = busy ? `projects are asked about wave ${(m.session.data.waves ?? 0) + (asking ? 1 : 0)}` : 'no instance is moving: hosts are maintained';
  return [{ kind: 'transition', to, reason }];
}

const allMaintained = (s: Snapshot) =>
  s.model.count('compute', 'MAINTAINED') + s.model.count('controller', 'MAINTAINED') === s.model.hostCount;

function completion(s: Snapshot): Effect[] {
  const m = s.model;
  if (!allMaintained(s) || m.maintainedDisabled.size || m.openOperations().length) return [];
  return [{ kind: 'transition', to: 'MAINTENANCE_COMPLETE', reason: 'every host is maintained' }];
}
