// The release rules as data: which operation a target is, the cluster status table, and what a
// session's rows change for its cluster (domain/releases.ts, pure).
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/domain/errors.js';
import type { Host, Session } from '../src/domain/model.js';
import {
  CLUSTER_STATUSES,
  STATUS_TRANSITIONS,
  chooseOperation,
  inRange,
  parseRange,
  releaseProgress,
  sessionRelease,
  type Cluster,
  type ClusterOperation,
  type Release,
} from '../src/domain/releases.js';

const release = (name: string, version: string, canUpdateFrom: string[] = []): Release => ({ name, version, canUpdateFrom, compatibleWith: null, repoSource: null, metadata: {}, createdAt: 0 });
const R1 = release('r1', '1.0', ['0.9']);
const R2 = release('r2', '2.0', ['1.0', '1.1']);
const OLD = release('old', '0.9');
const ALL = [OLD, R1, R2];

describe('chooseOperation', () => {
  it.each([
    [R1, R2, 'update'],
    [R2, R1, 'downgrade'],
    [R1, OLD, 'downgrade'],
    [OLD, R1, 'update'],
  ] as const)('%s -> %s', (from, to, kind) => expect(chooseOperation('c', from, to, ALL)).toBe(kind));

  it('refuses the same release and one in neither list, saying what is allowed', () => {
    expect(() => chooseOperation('c', R1, R1, ALL)).toThrow(new InvalidInputError('cluster c already runs r1 (1.0): updates: r2 (2.0); downgrades: old (0.9)'));
    expect(() => chooseOperation('c', OLD, R2, ALL)).toThrow("r2 (2.0) is neither an update nor a downgrade of cluster c's old (0.9): updates: r1 (1.0)");
    expect(() => chooseOperation('c', OLD, OLD, [OLD])).toThrow('no release can be applied to it (add one with release add NAME --version V --can-update-from 0.9)');
  });
});

describe('the cluster status table', () => {
  it('names only statuses there are, and every status is reachable from operational', () => {
    for (const [from, tos] of Object.entries(STATUS_TRANSITIONS)) {
      expect(CLUSTER_STATUSES).toContain(from);
      for (const to of tos) expect(CLUSTER_STATUSES).toContain(to);
    }
    const seen = new Set(['operational']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const s of [...seen]) for (const t of STATUS_TRANSITIONS[s as keyof typeof STATUS_TRANSITIONS]) if (!seen.has(t)) seen.add(t), (grew = true);
    }
    expect([...seen].sort()).toEqual([...CLUSTER_STATUSES].sort());
  });
});

describe('releaseProgress', () => {
  const op: ClusterOperation = { sessionId: 's', cluster: 'c', kind: 'update', from: 'r1', to: 'r2', rollbackOf: null, rollbackSession: null, autoRollback: false, createdAt: 0 };
  const cluster: Cluster = {
    name: 'c', cloud: null, currentRelease: 'r1', pendingRelease: 'r2', status: 'update', sessionId: 's', createdAt: 0, updatedAt: 0,
    hosts: [{ host: 'a', release: 'r2' }, { host: 'b', release: 'r1' }],
  };
  const host = (name: string, state: Host['state']) => ({ name, state }) as Host;
  const session = (state: Session['state']) => ({ id: 's', state, failure: 'it broke' }) as Session;

  it('moves a host once, when it is maintained, and the cluster when the session is done', () => {
    const p = releaseProgress(op, cluster, { hosts: [host('a', 'MAINTAINED'), host('b', 'MAINTAINED'), host('x', 'MAINTAINED'), host('b', 'IN_MAINTENANCE')] }, 5);
    expect(p.hosts).toEqual([{ host: 'b', release: 'r2' }]);
    expect(p.cluster).toBeNull();
    expect(releaseProgress(op, cluster, { session: session('MAINTENANCE_DONE') }, 5).cluster).toMatchObject({ status: 'operational', currentRelease: 'r2', pendingRelease: null });
  });

  it('leaves update_error on failure, goes back to update when continued, and ignores a session that is not the latest', () => {
    const failed = releaseProgress(op, cluster, { session: session('MAINTENANCE_FAILED') }, 5);
    expect(failed.cluster).toMatchObject({ status: 'update_error', pendingRelease: 'r2' });
    expect(failed.notifications[0]).toMatchObject({ topic: 'error', message: 'update of cluster c to r2 failed: it broke; roll it back with session rollback s' });
    expect(releaseProgress(op, { ...cluster, status: 'update_error' }, { session: session('START_MAINTENANCE') }, 5).cluster?.status).toBe('update');
    expect(releaseProgress(op, { ...cluster, sessionId: 'later' }, { session: session('MAINTENANCE_DONE') }, 5).cluster).toBeNull();
  });
});

describe('version ranges and the release a session carries', () => {
  it.each([
    ['0.1.0', '>=0.1 <2', true],
    ['2.0.0', '>=0.1 <2', false],
    ['0.1.0', '0.1', true],
    ['1.4.2', '>1.4', true],
    ['1.4.0', '>1.4', false],
  ] as const)('%s in "%s": %s', (v, range, ok) => expect(inRange(v, range)).toBe(ok));

  it('refuses a malformed range', () => expect(() => parseRange('>= 1')).toThrow('invalid --compatible-with ">= 1": ">=" is not a comparison'));

  it('reads the release of cluster session metadata only', () => {
    expect(sessionRelease({ release: { from: { version: '1.0' }, to: { version: '2.0', repo_source: 'http://m' } } })).toEqual({ from: '1.0', to: '2.0', repoSource: 'http://m' });
    expect(sessionRelease({ release: 'queens' })).toBeNull();
    expect(sessionRelease({})).toBeNull();
  });
});
