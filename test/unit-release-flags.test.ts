// Flags of the release commands and of session create's cluster options: what is refused (exit 2)
// before anything is asked of the engine, and the request each builds.
import { describe, expect, it } from 'vitest';
import { parseAddFlags } from '../src/cli/release/add.js';
import { parseCreateFlags as parseClusterFlags } from '../src/cli/cluster/create.js';
import { parseNotificationsFlags } from '../src/cli/notifications.js';
import { parseCreateFlags } from '../src/cli/session/create.js';
import { UsageError, exitCodeFor } from '../src/cli/exit-codes.js';

const create = (flags: Partial<Parameters<typeof parseCreateFlags>[0]>) => parseCreateFlags({ metadata: [], action: [], download: [], unsubscribed: [], ...flags });

describe('session create --cluster --release --auto-rollback', () => {
  it('puts them in the request', () => {
    expect(create({ cluster: 'prod', release: 'r2', autoRollback: true }).request).toMatchObject({ cluster: 'prod', release: 'r2', auto_rollback: true, hosts: [] });
    expect(create({ cluster: 'prod' }).request).not.toHaveProperty('release');
  });

  it('refuse --release without --cluster, --auto-rollback without --release, and a rehearsal of a cluster', () => {
    expect(() => create({ release: 'r2' })).toThrow(new UsageError('--release needs --cluster: name the cluster to update'));
    expect(() => create({ cluster: 'prod', autoRollback: true })).toThrow('--auto-rollback needs --release');
    expect(() => create({ cluster: 'prod', dryRun: true })).toThrow('--dry-run rehearses plain sessions: leave out --cluster');
    expect(() => create({ cluster: 'prod', file: 'x.json' })).toThrow('-f FILE is the whole request');
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
  });
});

describe('release add, cluster create, notifications', () => {
  it('build their bodies', () => {
    expect(parseAddFlags('r2', { version: '2.0', canUpdateFrom: '1.0, 1.1', repoSource: 'http://m', metadata: ['nova=17'] })).toEqual({
      name: 'r2', version: '2.0', can_update_from: ['1.0', '1.1'], compatible_with: null, repo_source: 'http://m', metadata: { nova: '17' },
    });
    expect(parseClusterFlags('prod', { release: 'r1', hosts: 'a,b' })).toEqual({ name: 'prod', release: 'r1', hosts: ['a', 'b'], cloud: null });
    expect(parseNotificationsFlags({ cluster: 'prod', topic: 'error', follow: true })).toEqual({ cluster: 'prod', topic: 'error', follow: true });
  });

  it('refuse malformed lists and topics', () => {
    expect(() => parseAddFlags('r2', { version: '2.0', canUpdateFrom: '1.0,,1.1', metadata: [] })).toThrow('invalid --can-update-from "1.0,,1.1"');
    expect(() => parseAddFlags('r2', { version: '2.0', metadata: ['nokey'] })).toThrow('invalid --metadata "nokey"');
    expect(() => parseClusterFlags('prod', { release: 'r1', hosts: 'a,' })).toThrow('invalid --hosts "a,"');
    expect(() => parseNotificationsFlags({ topic: 'info' })).toThrow('invalid --topic "info": use one of discover, done, error, warning');
  });
});
