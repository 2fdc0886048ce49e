// Later Fenix's vnf workflow asks about each instance on its own: a project is asked about one
// instance of a wave at a time (its notification's instance_ids is [that id]) and answers with the
// singular instance_action; once it has, it is asked about its next one. Projects answer in
// parallel; a new wave is planned once every instance of the waves under way has its action.
import { MOVE_ACTIONS } from '../../domain/states.js';
import { question, type Question } from '../default/asking.js';
import { waveState, type WaveQuestions } from '../default/rolling.js';
import type { Effect, Snapshot } from '../types.js';

/** A question about one instance of a wave to its project. */
function askAbout(s: Snapshot, wave: number, instanceId: string): Effect {
  const m = s.model;
  const projectId = m.instance(instanceId)!.projectId;
  const q: Question = { state: waveState(s), projects: [projectId], instances: [instanceId], allowedActions: [...MOVE_ACTIONS], timeout: m.session.options.projectMaintenanceReply, wave };
  return question(s, q, [projectId], true);
}

/** The first instance of each project among these, in order. */
function firstPerProject(s: Snapshot, ids: Iterable<string>): string[] {
  const first = new Map<string, string>();
  for (const id of ids) {
    const p = s.model.instance(id)!.projectId;
    if (!first.has(p)) first.set(p, id);
  }
  return [...first.values()];
}

export const perInstance: WaveQuestions = {
  about: (s, wave, instances) => firstPerProject(s, instances).map((id) => askAbout(s, wave, id)),
  due: (s) => {
    const m = s.model;
    const waiting = [...m.inWave].filter((id) => {
      const i = m.instance(id)!;
      return i.action === null && !m.openQuestions.has(i.projectId) && !m.rejected.has(i.projectId);
    });
    return firstPerProject(s, waiting).map((id) => askAbout(s, m.instance(id)!.wave!, id));
  },
  mayPlan: (s) => ![...s.model.inWave].some((id) => s.model.instance(id)!.action === null),
};
