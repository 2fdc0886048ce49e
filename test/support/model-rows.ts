// Small row factories for building a SessionModel in unit tests: every field of every row type
// is filled with a plain default, and a patch overrides what the test is about.
import { DEFAULT_OPTIONS, type Host, type Instance, type Operation, type Project, type Session } from '../../src/domain/model.js';
import { SessionModel, type ModelRows } from '../../src/domain/session-model.js';

/** A fixed instant the tests count from (2026-01-01T00:00:00Z). */
export const T0 = Date.UTC(2026, 0, 1);

export function session(patch: Partial<Session> = {}): Session {
  return {
    id: 's-1',
    state: 'MAINTENANCE',
    workflow: 'default',
    maintenanceAt: T0,
    metadata: {},
    options: { ...DEFAULT_OPTIONS, unsubscribed: { default: 'fail', projects: {} } },
    driver: { kind: 'sim' },
    download: [],
    pluginDirs: [],
    actions: [],
    createdAt: T0 - 60_000,
    updatedAt: T0 - 60_000,
    stateEnteredAt: T0 - 60_000,
    visit: 1,
    attempt: 1,
    failure: null,
    failedState: null,
    discovered: true,
    syncedAt: T0 - 60_000,
    data: {},
    ...patch,
  };
}

export function host(name: string, patch: Partial<Host> = {}): Host {
  return {
    name,
    type: 'compute',
    vcpus: 8,
    vcpusUsed: 0,
    memoryMb: null,
    memoryMbUsed: null,
    state: 'PENDING',
    wave: null,
    step: 0,
    cause: null,
    since: 0,
    disabled: false,
    disabledBefore: false,
    ...patch,
  };
}

export function instance(id: string, hostName: string, patch: Partial<Instance> = {}): Instance {
  return {
    instanceId: id,
    name: `vm-${id}`,
    projectId: 'p1',
    host: hostName,
    vcpus: 2,
    memoryMb: null,
    floatingIp: false,
    wave: null,
    target: null,
    action: null,
    actionDone: false,
    projectState: null,
    replacedId: null,
    ...patch,
  };
}

export function project(id: string, patch: Partial<Project> = {}): Project {
  return {
    projectId: id,
    policy: 'ask',
    state: null,
    visit: 0,
    wave: null,
    replyState: null,
    replyAt: null,
    repliedAt: null,
    ...patch,
  };
}

let nextOperationId = 1;

export function operation(key: string, patch: Partial<Operation> = {}): Operation {
  return {
    id: nextOperationId++,
    sessionId: 's-1',
    kind: 'host_maintenance',
    target: key.split(':')[1] ?? key,
    key,
    attempt: 1,
    params: {},
    status: 'started',
    checkAt: null,
    deadline: null,
    cause: null,
    result: {},
    createdAt: T0 - 60_000,
    updatedAt: T0 - 60_000,
    ...patch,
  };
}

/** A model from rows; missing tables are empty. */
export function model(rows: Partial<ModelRows> & { session: Session }): SessionModel {
  return new SessionModel({ hosts: [], projects: [], instances: [], operations: [], ...rows });
}
