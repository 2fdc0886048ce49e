// After MAINTENANCE and SCALE_IN: is there an empty compute, room to make one, or must projects scale in?
import type { Decision, Snapshot } from '../types.js';
import { computes, hostToEmpty, isEmpty, totalFreeVcpus } from './facts.js';

export function chooseNextState(s: Snapshot): Decision {
  const pending = computes(s).filter((h) => h.state !== 'MAINTAINED');
  if (pending.length === 0 || pending.some((h) => isEmpty(s, h))) {
    return { kind: 'transition', to: 'START_MAINTENANCE', reason: 'an empty compute can be maintained now' };
  }
  const choice = hostToEmpty(s);
  if (choice) {
    return {
      kind: 'transition',
      to: 'PREPARE_MAINTENANCE',
      targetHost: choice.host,
      reason: `no empty compute, but the instances on ${choice.host} fit on the other hosts`,
    };
  }
  const free = totalFreeVcpus(s);
  const before = s.session.data.freeVcpusBeforeScaleIn;
  if (s.session.state === 'SCALE_IN' && before !== undefined && free <= before) {
    return {
      kind: 'fail',
      cause: `scale-in freed no capacity (${free} vCPUs free, ${before} before): no compute can be emptied`,
    };
  }
  return {
    kind: 'transition',
    to: 'SCALE_IN',
    data: { ...s.session.data, freeVcpusBeforeScaleIn: free },
    reason: `no compute can be emptied: its instances would not fit elsewhere (${free} vCPUs free)`,
  };
}
