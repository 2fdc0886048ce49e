// The constraints' store: migration 5 applies whether or not another branch's version 4 is there
// yet, and a version missing below the newest applied one still runs; rows keep every field.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../src/store/db.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { constraintsOf, listConstraints, putGroup, putInstance } from '../src/store/constraints.js';
import { Store } from '../src/store/store.js';

describe('migration 5 (constraints)', () => {
  it('runs after a version 4 it does not know, and a 4 added later still runs', () => {
    const db = new Database(':memory:');
    const versions = MIGRATIONS.map((m) => m.version).sort((a, b) => a - b);
    migrate(db, MIGRATIONS.filter((m) => m.version !== 4));
    expect(schemaVersion(db)).toBe(versions.at(-1));
    const four = { version: 4, name: 'another branch', sql: 'CREATE TABLE other_branch (id INTEGER)' };
    migrate(db, [...MIGRATIONS.filter((m) => m.version !== 4), four]);
    const applied = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
    expect(applied.map((r) => r.version)).toEqual(versions);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'other_branch'").get()).toBeDefined();
  });
});

describe('constraint rows', () => {
  it('are stored with every field, replaced by a second put, and read by project', () => {
    const store = Store.open(':memory:');
    const group = { groupId: 'g', projectId: 'p', groupName: 'web', antiAffinityGroup: true, maxInstancesPerHost: 1, maxImpactedMembers: 2, recoveryTime: 1.5, resourceMitigation: true };
    putGroup(store, { ...group, maxImpactedMembers: 9 }, 1);
    putGroup(store, group, 2);
    const inst = { instanceId: 'i', projectId: 'p', groupId: 'g', instanceName: 'vm', maxInterruptionTime: null, migrationType: 'OWN_ACTION' as const, resourceMitigation: false, leadTime: 30 };
    putInstance(store, inst, 1);
    putInstance(store, { ...inst, instanceId: 'j', projectId: 'q' }, 1);
    expect(listConstraints(store, 'p')).toEqual({ groups: [group], instances: [inst] });
    expect(constraintsOf(store, ['p', 'q']).instances.map((i) => i.instanceId)).toEqual(['i', 'j']);
    expect(constraintsOf(store, []).groups).toEqual([]);
  });
});
