// Schemas of every input: the Fenix admin and project API bodies and the sim cloud file.
import { z } from 'zod';
import { HOST_TYPES, INSTANCE_ACTIONS, PLUGIN_TYPES } from './states.js';
import { TIME_RANGE, inTimeRange, parseTime } from './time.js';

export { MAX_MIGRATIONS, MAX_PARALLEL_HOSTS, MAX_REPLY_SECONDS, MAX_SIM_SECONDS } from './limits.js';
import { MAX_MIGRATIONS, MAX_PARALLEL_HOSTS, MAX_REPLY_SECONDS, MAX_SIM_SECONDS } from './limits.js';

const name = z.string().trim().min(1, 'must not be empty');
const metadata = z.record(z.string(), z.unknown());
const seconds = z
  .number('must be a positive number of seconds')
  .positive('must be a positive number of seconds')
  .max(MAX_REPLY_SECONDS, `at most ${MAX_REPLY_SECONDS} seconds (7 days)`);

/** A whole number from 1 to max, every failure said the same way. */
const count = (max: number, message: string) => z.number(message).int(message).min(1, message).max(max, message);

const parallelHosts = `must be "auto" or a whole number from 1 to ${MAX_PARALLEL_HOSTS}`;

/** A time parseTime reads, within the years every date function handles. */
const time = z.string().superRefine((text, ctx) => {
  let ms: number;
  try {
    ms = parseTime(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^invalid time /, '') });
    return;
  }
  if (!inTimeRange(ms)) ctx.addIssue({ code: 'custom', message: `must be a time ${TIME_RANGE}` });
});

export const actionPluginSchema = z.strictObject({
  plugin: name.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a plug-in name: letters, digits, "_", "-" and "." (no "/")'),
  type: z.enum(PLUGIN_TYPES, { error: `must be one of ${PLUGIN_TYPES.join(', ')}` }),
  metadata: metadata.optional(),
  /** Runs before the plug-ins of its type with a higher order or none (those by name). */
  order: z.number('must be a whole number').int('must be a whole number').optional(),
});

const downloadUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' });

/** Fenix's list of URLs, or {url, sha256} to have the content checked. */
const downloadEntry = z.union(
  [downloadUrl, z.strictObject({ url: downloadUrl, sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits').optional() })],
  { error: 'must be an http or https URL, or {"url": URL, "sha256": HEX}' },
);

/** POST /v1/maintenance (seed 000), plus our per-session reply deadlines. */
export const createSessionSchema = z.strictObject({
  hosts: z.array(name).default([]),
  state: z.literal('MAINTENANCE', { error: 'a new session starts in state MAINTENANCE' }).optional(),
  maintenance_at: time.optional(),
  metadata: metadata.default({}),
  workflow: name.default('default'),
  download: z.array(downloadEntry).default([]),
  actions: z.array(actionPluginSchema).default([]),
  project_maintenance_reply: seconds.optional(),
  project_scale_in_reply: seconds.optional(),
  /** Hosts in flight at once; auto: as many as free capacity allows. The engine's default is 1. */
  max_parallel_hosts: z.union([z.literal('auto'), count(MAX_PARALLEL_HOSTS, parallelHosts)], { error: parallelHosts }).optional(),
  /** Moves under way at once. The engine's default is 10 (DEFAULT_OPTIONS.maxMigrations). */
  max_migrations: count(MAX_MIGRATIONS, `must be a whole number from 1 to ${MAX_MIGRATIONS}`).optional(),
  /** For projects nobody answers for: fail (as Fenix), or move their instances without asking. */
  unsubscribed_policy: z.enum(['fail', 'migrate', 'live_migrate']).optional(),
  project_policies: z.record(z.string(), z.enum(['fail', 'migrate', 'live_migrate'])).optional(),
  /** The cluster whose hosts are maintained (all of them unless hosts names some). */
  cluster: name.optional(),
  /** With cluster: the release it is updated or downgraded to. */
  release: name.optional(),
  /** With release: a failed update or downgrade is rolled back by itself. */
  auto_rollback: z.boolean('must be true or false').optional(),
});
export type CreateSessionBody = z.output<typeof createSessionSchema>;

const instanceAction = z.enum(INSTANCE_ACTIONS, { error: `must be one of ${INSTANCE_ACTIONS.join(', ')}` });

/**
 * PUT /v1/maintenance/{session}/{project} (seed 001); later Fenix's single instance_action too.
 * VNFMs written for Fenix (OPNFV Doctor's sample) also send session_id and instance_ids: accepted.
 */
export const projectReplySchema = z.strictObject({
  state: name,
  instance_actions: z.record(z.string(), instanceAction).optional(),
  instance_action: instanceAction.optional(),
  instance_id: name.optional(),
  session_id: name.optional(),
  instance_ids: z.array(z.string()).optional(),
});
export type ProjectReplyBody = z.output<typeof projectReplySchema>;

const simSeconds = z.number().nonnegative().max(MAX_SIM_SECONDS, `at most ${MAX_SIM_SECONDS} seconds (7 days)`);

const cloudHost = z.strictObject({
  name,
  type: z.enum(HOST_TYPES).default('compute'),
  vcpus: z.number().int().nonnegative().default(0),
  memory_mb: z.number().int().positive().optional(),
});

const cloudInstance = z.strictObject({
  name,
  project: name,
  host: name,
  vcpus: z.number().int().positive().default(1),
  memory_mb: z.number().int().positive().optional(),
  floating_ip: z.boolean().default(false),
  id: name.optional(),
});

const cloudProject = z.strictObject({
  id: name,
  auto_reply: z.enum(['ack', 'nack', 'none']).default('none'),
  action: instanceAction.default('MIGRATE'),
  scale_in: z.number().int().nonnegative().default(0),
  /** Simulated seconds the scripted VNFM takes to answer. */
  reply_delay_s: simSeconds.default(1),
});

const cloudFault = z.union([z.strictObject({ migrate_fails: name }), z.strictObject({ host_fails: name })], {
  error: 'a fault is {migrate_fails: INSTANCE} or {host_fails: HOST}',
});

export const cloudFileSchema = z
  .strictObject({
    hosts: z.array(cloudHost).min(1, 'a cloud needs at least one host'),
    instances: z.array(cloudInstance).default([]),
    projects: z.array(cloudProject).default([]),
    timing: z
      .strictObject({
        migrate_s: simSeconds.default(30),
        live_migrate_s: simSeconds.default(10),
        host_maintenance_s: simSeconds.default(60),
      })
      .default({ migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60 }),
    faults: z.array(cloudFault).default([]),
  })
  .superRefine((cloud, ctx) => {
    const hosts = new Map(cloud.hosts.map((h) => [h.name, h]));
    if (hosts.size !== cloud.hosts.length) ctx.addIssue({ code: 'custom', path: ['hosts'], message: 'host names must be unique' });
    const used = new Map<string, number>();
    const usedMemory = new Map<string, number>();
    const names = new Set<string>();
    const ids = new Set<string>();
    cloud.instances.forEach((inst, i) => {
      if (inst.id !== undefined && ids.has(inst.id)) ctx.addIssue({ code: 'custom', path: ['instances', i, 'id'], message: `duplicate instance id "${inst.id}"` });
      if (inst.id !== undefined) ids.add(inst.id);
      const host = hosts.get(inst.host);
      if (!host) ctx.addIssue({ code: 'custom', path: ['instances', i, 'host'], message: `no host named "${inst.host}"` });
      else if (host.type !== 'compute') ctx.addIssue({ code: 'custom', path: ['instances', i, 'host'], message: `"${inst.host}" is a ${host.type}, instances run on computes` });
      if (names.has(inst.name)) ctx.addIssue({ code: 'custom', path: ['instances', i, 'name'], message: `duplicate instance name "${inst.name}"` });
      names.add(inst.name);
      used.set(inst.host, (used.get(inst.host) ?? 0) + inst.vcpus);
      if (inst.memory_mb !== undefined) usedMemory.set(inst.host, (usedMemory.get(inst.host) ?? 0) + inst.memory_mb);
    });
    for (const [hostName, vcpus] of used) {
      const host = hosts.get(hostName);
      if (host && host.type === 'compute' && vcpus > host.vcpus) {
        ctx.addIssue({ code: 'custom', path: ['hosts'], message: `instances on "${hostName}" use ${vcpus} vCPUs but it has ${host.vcpus}` });
      }
    }
    // Memory counts only where the host gives it; instances without memory_mb take none.
    for (const [hostName, memory] of usedMemory) {
      const host = hosts.get(hostName);
      if (host && host.type === 'compute' && host.memory_mb !== undefined && memory > host.memory_mb) {
        ctx.addIssue({ code: 'custom', path: ['hosts'], message: `instances on "${hostName}" use ${memory} MiB but it has ${host.memory_mb}` });
      }
    }
    cloud.faults.forEach((fault, i) => {
      if ('host_fails' in fault && !hosts.has(fault.host_fails)) {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'host_fails'], message: `no host named "${fault.host_fails}"` });
      }
      if ('migrate_fails' in fault && !names.has(fault.migrate_fails) && !cloud.instances.some((x) => x.id === fault.migrate_fails)) {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'migrate_fails'], message: `no instance named "${fault.migrate_fails}"` });
      }
    });
  });
export type CloudFile = z.output<typeof cloudFileSchema>;

const version = z.string().trim().regex(/^[0-9A-Za-z][0-9A-Za-z._+-]*$/, 'must be a version such as 2.0 or 5.1.1');

/** POST /v1/releases (release add): a release with the versions it can be updated from. */
export const newReleaseSchema = z.strictObject({
  name: name.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a name of letters, digits, "_", "-" and "."'),
  version,
  can_update_from: z.array(version).default([]),
  compatible_with: z.string().trim().min(1, 'must not be empty').nullable().default(null),
  repo_source: z.url({ error: 'must be a URL' }).nullable().default(null),
  metadata: z.record(z.string(), z.string()).default({}),
});

/** POST /v1/clusters (cluster create): a cluster of hosts on a release. */
export const newClusterSchema = z.strictObject({
  name: name.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a name of letters, digits, "_", "-" and "."'),
  release: name,
  hosts: z.array(name).min(1, 'must name at least one host'),
  cloud: z.string().trim().min(1, 'must not be empty').nullable().default(null),
});
/** Doctor's VNFM writes Fenix's older names of the move actions: read as ours. */
const MIGRATION_TYPE_ALIASES: Record<string, string> = { MIGRATION: 'MIGRATE', LIVE_MIGRATION: 'LIVE_MIGRATE' };
const migrationType = z.preprocess((v) => (typeof v === 'string' ? (MIGRATION_TYPE_ALIASES[v] ?? v) : v), instanceAction);
const constraintSeconds = z.number('must be a number of seconds').nonnegative('must be 0 or more seconds').max(MAX_REPLY_SECONDS, `at most ${MAX_REPLY_SECONDS} seconds (7 days)`);
const memberCount = z.number('must be a whole number').int('must be a whole number').nonnegative('must be 0 or more').max(100_000, 'at most 100000');

/** PUT /v1/instance_group/{group_id} (later Fenix); the path's id wins over a group_id that agrees with it. */
export const groupConstraintSchema = z.strictObject({
  group_id: name.optional(),
  project_id: name,
  group_name: z.string().default(''),
  anti_affinity_group: z.boolean('must be true or false').default(false),
  max_instances_per_host: memberCount.default(0),
  max_impacted_members: memberCount.default(1),
  recovery_time: constraintSeconds.default(0),
  resource_mitigation: z.boolean('must be true or false').default(false),
});
export type GroupConstraintBody = z.output<typeof groupConstraintSchema>;

/** PUT /v1/instance/{instance_id} (later Fenix). */
export const instanceConstraintSchema = z.strictObject({
  instance_id: name.optional(),
  project_id: name,
  group_id: name.nullable().default(null),
  instance_name: z.string().default(''),
  max_interruption_time: constraintSeconds.nullable().default(null),
  migration_type: migrationType.nullable().default(null),
  resource_mitigation: z.boolean('must be true or false').default(false),
  lead_time: constraintSeconds.default(0),
});
export type InstanceConstraintBody = z.output<typeof instanceConstraintSchema>;
