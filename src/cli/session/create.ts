// maintctl session create: a new maintenance session from flags or a Fenix JSON request.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { MAX_MIGRATIONS, MAX_PARALLEL_HOSTS, MAX_REPLY_SECONDS, MAX_SIM_SECONDS } from '../../domain/limits.js';
import type { RehearsalTiming } from '../../engine/rehearsal.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { checkTime, collect, parseAction, parseCount, parseHosts, parseMetadata, parsePolicies, parseSeconds, parseTiming, parseWait } from '../flags.js';
import { emit } from '../render/output.js';
import { followToEnd } from './follow.js';

export interface CreateOptions {
  request: Record<string, unknown>;
  cloudFile?: string;
  wait: boolean;
  timeoutMs?: number;
  /** --plugin-dir: absolute directories searched for plug-ins after the built-ins. */
  pluginDirs: string[];
  /** --dry-run: rehearse the session on a copy of the infrastructure instead of starting it. */
  dryRun?: { timing: RehearsalTiming };
}

interface CreateFlags {
  hosts?: string;
  at?: string;
  workflow?: string;
  metadata: string[];
  action: string[];
  download: string[];
  pluginDir?: string[];
  cloud?: string;
  replyTimeout?: string;
  scaleInTimeout?: string;
  maxParallel?: string;
  /** The old name of --max-parallel. */
  parallel?: string;
  maxMigrations?: string;
  unsubscribed: string[];
  file?: string;
  wait?: boolean;
  timeout?: string;
  dryRun?: boolean;
  timing?: string;
  cluster?: string;
  release?: string;
  autoRollback?: boolean;
}

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('create')
    .description('start a maintenance session')
    .option('--hosts <a,b,...>', 'hosts to maintain (default: every host the infrastructure has)')
    .option('--at <time>', 'when maintenance starts: "2018-02-28 06:06:03" (UTC) or ISO 8601 (default: now)')
    .option('--workflow <name>', 'workflow to run (default: default)')
    .option('--metadata <key=value>', 'metadata for projects and plug-ins (repeatable)', collect, [])
    .option('--action <type:plugin[:k=v,...]>', 'action plug-in: type pre, host, post, compute or controller (repeatable)', collect, [])
    .option('--download <url>', 'software to download for the plug-ins (repeatable)', collect, [])
    .option('--plugin-dir <dir>', 'directory of plug-in executables, searched after the built-ins (repeatable)', collect, [])
    .option('--cloud <openstack[:name]|file>', 'the cloud: openstack (OS_* variables or OS_CLOUD), openstack:NAME (clouds.yaml), or a sim cloud file')
    .option('--reply-timeout <duration>', 'time each project has to answer (default 20s)')
    .option('--scale-in-timeout <duration>', 'time each project has to answer SCALE_IN and MAINTENANCE_COMPLETE (default 60s)')
    .option('--max-parallel <n|auto>', 'hosts in flight at once, or auto: as many as free capacity allows (default 1)')
    .option('--parallel <n|auto>', 'old name of --max-parallel, still accepted')
    .option('--max-migrations <n>', 'moves (migrations, live migrations) under way at once (default 10)')
    .option(
      '--unsubscribed <[project=]policy>',
      'what to do with projects nobody answers for: fail (default, as Fenix), migrate or live_migrate; for all, or one project (repeatable)',
      collect,
      [],
    )
    .option('--cluster <name>', "maintain this cluster's hosts (all of them unless --hosts names some); its cloud unless --cloud")
    .option('--release <name>', "with --cluster: update or downgrade it to this release (plug-ins get MAINTCTL_RELEASE_FROM/_TO)")
    .option('--auto-rollback', 'with --release: roll the hosts moved back by itself if the session fails')
    .option('-f, --file <file>', 'the whole request as Fenix JSON (POST /v1/maintenance body)')
    .option('--wait', 'follow the session to its end; exit 0 done, 3 failed')
    .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)')
    .option('--dry-run', 'rehearse the session on a read-only copy of the infrastructure and print the plan; nothing changes (exit 0 done, 3 would fail)')
    .option('--timing <key=duration,...>', 'with --dry-run: simulated durations, any of migrate, live_migrate, host (e.g. migrate=30s,host=10m)')
    .action((flags: CreateFlags) => run((deps) => runCreate(parseCreateFlags(flags), deps)));
}

export function parseCreateFlags(flags: CreateFlags): CreateOptions {
  if (flags.timing !== undefined && !flags.dryRun) throw new UsageError('--timing needs --dry-run: it sets the durations of a rehearsal');
  if (flags.dryRun && flags.cluster !== undefined) throw new UsageError('--dry-run rehearses plain sessions: leave out --cluster (a rehearsal has no clusters)');
  if (flags.dryRun && flags.wait) throw new UsageError('--dry-run always runs the rehearsal to its end: leave out --wait');
  const dryRun = flags.dryRun ? { timing: flags.timing !== undefined ? parseTiming(flags.timing, MAX_SIM_SECONDS) : {} } : undefined;
  const pluginDirs = (flags.pluginDir ?? []).map(pluginDir);
  const options = { cloudFile: flags.cloud, ...parseWait(flags), pluginDirs, ...(dryRun ? { dryRun } : {}) };
  if (flags.file) {
    const fields = ['hosts', 'at', 'workflow', 'replyTimeout', 'scaleInTimeout', 'maxParallel', 'parallel', 'maxMigrations', 'cluster', 'release', 'autoRollback'] as const;
    const mixed = fields.filter((k) => flags[k] !== undefined);
    if (mixed.length || flags.metadata.length || flags.action.length || flags.download.length || flags.unsubscribed.length) {
      throw new UsageError('-f FILE is the whole request: give the other session fields in the file, not as flags');
    }
    return { ...options, request: readRequestFile(flags.file) };
  }
  const request: Record<string, unknown> = {
    hosts: flags.hosts ? parseHosts(flags.hosts) : [],
    state: 'MAINTENANCE',
    workflow: flags.workflow ?? 'default',
    metadata: parseMetadata(flags.metadata),
    actions: flags.action.map(parseAction),
    download: flags.download,
  };
  if (flags.release !== undefined && flags.cluster === undefined) throw new UsageError('--release needs --cluster: name the cluster to update');
  if (flags.autoRollback && flags.release === undefined) throw new UsageError('--auto-rollback needs --release: only an update or downgrade is rolled back');
  if (flags.cluster !== undefined) request.cluster = flags.cluster;
  if (flags.release !== undefined) request.release = flags.release;
  if (flags.autoRollback) request.auto_rollback = true;
  if (flags.at) request.maintenance_at = checkTime(flags.at);
  if (flags.replyTimeout) request.project_maintenance_reply = parseSeconds(flags.replyTimeout, '--reply-timeout', MAX_REPLY_SECONDS);
  if (flags.scaleInTimeout) request.project_scale_in_reply = parseSeconds(flags.scaleInTimeout, '--scale-in-timeout', MAX_REPLY_SECONDS);
  if (flags.maxParallel !== undefined && flags.parallel !== undefined) {
    throw new UsageError('--parallel is the old name of --max-parallel: give only one of them');
  }
  const parallel = flags.maxParallel ?? flags.parallel;
  if (parallel !== undefined) {
    const flag = flags.maxParallel !== undefined ? '--max-parallel' : '--parallel';
    request.max_parallel_hosts = parseCount(parallel, flag, 'hosts', MAX_PARALLEL_HOSTS, true);
  }
  if (flags.maxMigrations !== undefined) request.max_migrations = parseCount(flags.maxMigrations, '--max-migrations', 'moves', MAX_MIGRATIONS);
  const policies = parsePolicies(flags.unsubscribed);
  if (policies.default) request.unsubscribed_policy = policies.default;
  if (policies.projects) request.project_policies = policies.projects;
  return { ...options, request };
}

/** A --plugin-dir as the engine will read it: absolute, and a directory now. */
function pluginDir(dir: string): string {
  const path = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new UsageError(`invalid --plugin-dir "${dir}": no such directory`);
  return path;
}

function readRequestFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read request file ${path}: it does not exist or is not readable`);
  }
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return body as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`request file ${path} is not a JSON object: ${(err as Error).message.split('\n')[0]}`);
  }
}

export async function runCreate(options: CreateOptions, deps: Deps): Promise<void> {
  if (options.dryRun) {
    // Loaded only for a rehearsal: an ordinary create does not need the simulator.
    const { runDryRun } = await import('./dry-run.js');
    return runDryRun({ request: options.request, cloud: options.cloudFile, timing: options.dryRun.timing }, deps);
  }
  const id = await deps.client().createSession({ request: options.request, cloudFile: options.cloudFile, pluginDirs: options.pluginDirs });
  const problem = await deps.client().replyProblem();
  if (problem) deps.io.err.write(`maintctl: warning: ${problem}\n`);
  if (!options.wait) {
    emit(deps.io, deps.format, { session_id: id }, () => id);
    return;
  }
  await followToEnd(id, deps, { timeoutMs: options.timeoutMs });
}
