// Action plug-ins: executables found by name in plug-in directories (the built-ins first), run
// with the contract documented in README ("Writing a plug-in"): environment variables and the
// same facts as one JSON object on stdin. Exit 0 is DONE, anything else FAILED; a run past its
// timeout is killed with its process group. A plug-in must be safe to run again: one killed by an
// engine crash is run again on restart.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../domain/clock.js';
import type { ActionPluginSpec, Session } from '../domain/model.js';
import { RealClock } from './clock.js';
import { runProcess, type ProcessOutcome } from './plugin-process.js';

export interface PluginCall {
  sessionId: string;
  plugin: string;
  type: string;
  /** The host maintained; null for pre and post plug-ins. */
  host: string | null;
  hostType: string | null;
  /** The action's metadata (its hints). */
  metadata: Record<string, unknown>;
  /** The session's metadata (hints to projects and plug-ins alike). */
  sessionMetadata: Record<string, unknown>;
  /** The session's work directory (downloads included). */
  workDir: string;
  /** The directories searched after the built-ins, in order. */
  dirs: string[];
  /** The operation key of this run (names its pid file). */
  runKey: string;
  /** A cluster session's release versions (from, to) and the target's repository. */
  release?: { from: string; to: string; repoSource?: string | null };
  /** The session's clock: `wait` sleeps on it (virtual in the sim and rehearsals). */
  clock: Clock;
  /** Aborted when the session stops: a running plug-in is killed. */
  signal?: AbortSignal;
  /** The output so far, while it runs. */
  onOutput?: (output: string, chars: number) => void;
}

export interface PluginResult {
  output: string;
  outputChars: number;
  exitStatus: number;
}

/** A FAILED run: its exit status (null when killed or never started), output and why. */
export class PluginFailure extends Error {
  constructor(
    message: string,
    readonly exitStatus: number | null,
    readonly output: string,
    readonly outputChars: number,
  ) {
    super(message);
    this.name = 'PluginFailure';
  }
}

interface BuiltinContext {
  call: PluginCall;
  exec: (command: string, args: string[]) => Promise<PluginResult>;
}

interface Builtin {
  /** Why an action cannot use it (checked at session create), or null. */
  check?: (metadata: Record<string, unknown>) => string | null;
  run: (ctx: BuiltinContext) => Promise<PluginResult>;
}

/** Default timeout of a plug-in run: one hour. */
export const DEFAULT_TIMEOUT_S = 3600;
/** Where `session create` looks besides --plugin-dir (relative to the state directory). */
export const PLUGIN_DIR_NAME = 'plugins';

/** A number given in metadata: JSON numbers, and numbers written as text (`--action host:wait:seconds=30`). */
export function metadataNumber(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

/** A built-in's DONE with what it has to say. */
const said = (output: string): PluginResult => ({ output, outputChars: output.length, exitStatus: 0 });

const needsCommand = (m: Record<string, unknown>) =>
  typeof m.command === 'string' && m.command.trim() ? null : 'needs metadata command (the shell command to run), e.g. --action host:shell:command="apt-get -y upgrade"';

const BUILTINS: Record<string, Builtin> = {
  /** Does nothing and succeeds (Fenix ships the same). */
  dummy: {
    run: async ({ call }) => said(`dummy ${call.type} plug-in${call.host ? ` on ${call.host}` : ''}: nothing to do\n`),
  },
  /** metadata.command, run by /bin/sh on the engine's machine with the contract. */
  shell: {
    check: needsCommand,
    run: ({ call, exec }) => exec('/bin/sh', ['-c', String(call.metadata.command)]),
  },
  /** metadata.command, run on the host through the system ssh client (BatchMode: never a prompt). */
  ssh: {
    check: (m) => needsCommand(m) ?? sshMetadataProblem(m),
    run: ({ call, exec }) => exec('ssh', sshArgs(call)),
  },
  /** Sleeps metadata.seconds on the session's clock. */
  wait: {
    check: (m) => ((metadataNumber(m.seconds) ?? -1) >= 0 ? null : 'needs metadata seconds (a number), e.g. --action host:wait:seconds=30'),
    run: ({ call }) => {
      const seconds = metadataNumber(call.metadata.seconds) ?? 0;
      return new Promise((resolve) =>
        call.clock.at(call.clock.now() + seconds * 1000, () => resolve(said(`waited ${seconds} s\n`))),
      );
    },
  },
};

export const BUILTIN_NAMES = Object.keys(BUILTINS);

/** Where a plug-in name leads: a built-in, an executable, or nowhere. */
export type Resolved = { builtin: string } | { path: string } | null;

export interface PluginRegistryOptions {
  /** Directories searched for every session, after its own --plugin-dir ones (the state directory's plugins/). */
  dirs?: string[];
  /** Where sessions get their work directories. */
  workRoot?: string;
  /** Real time for process timeouts (tests may pass their own). */
  processClock?: Clock;
  /** Largest file a session may download (bytes). */
  maxDownloadBytes?: number;
  /**
   * A rehearsal: nothing runs or is fetched. Each plug-in takes metadata.expected_s (or
   * metadata.seconds for `wait`, else `expectedS`) on the session's clock; any name is accepted.
   */
  rehearsal?: { expectedS: number };
}

export class PluginRegistry {
  readonly dirs: string[];
  readonly workRoot: string;
  private readonly processClock: Clock;
  private readonly maxDownloadBytes: number | undefined;
  private readonly rehearsal: { expectedS: number } | null;

  constructor(options: PluginRegistryOptions = {}) {
    this.dirs = options.dirs ?? [];
    this.workRoot = options.workRoot ?? join(tmpdir(), 'maintctl-work');
    this.processClock = options.processClock ?? new RealClock();
    this.maxDownloadBytes = options.maxDownloadBytes;
    this.rehearsal = options.rehearsal ?? null;
  }

  workDir(sessionId: string): string {
    return join(this.workRoot, sessionId);
  }

  /** Where a session's downloaded plug-in bundles are unpacked. */
  downloadedPlugins(sessionId: string): string {
    return join(this.workDir(sessionId), PLUGIN_DIR_NAME);
  }

  /** The directories searched for a session's plug-ins after the built-ins, in order. */
  searchPath(session: { id: string; pluginDirs: string[] }): string[] {
    return [...session.pluginDirs, ...this.dirs, this.downloadedPlugins(session.id)];
  }

  resolve(name: string, dirs: readonly string[]): Resolved {
    if (Object.hasOwn(BUILTINS, name)) return { builtin: name };
    if (this.rehearsal) return { path: join('(rehearsal)', name) };
    for (const dir of dirs) {
      const path = join(dir, name);
      if (isExecutable(path)) return { path };
    }
    return null;
  }

  /** Why the actions cannot run with these directories (one line), or null. */
  problems(actions: readonly ActionPluginSpec[], dirs: readonly string[], options: { mayBeDownloaded?: boolean } = {}): string | null {
    const unknown = new Set<string>();
    for (const a of actions) {
      const found = this.resolve(a.plugin, dirs);
      if (!found) {
        if (!options.mayBeDownloaded) unknown.add(a.plugin);
        continue;
      }
      const problem = 'builtin' in found ? BUILTINS[found.builtin]!.check?.(a.metadata) : null;
      if (problem) return `action plug-in ${a.plugin} (${a.type}) ${problem}`;
      if (a.metadata.timeout !== undefined && !((metadataNumber(a.metadata.timeout) ?? 0) > 0)) {
        return `action plug-in ${a.plugin} (${a.type}): metadata timeout must be a positive number of seconds`;
      }
    }
    if (!unknown.size) return null;
    const names = [...unknown].map((n) => `"${n}"`).join(', ');
    const where = dirs.length ? `no executable of that name is in ${dirs.join(', ')}` : 'no plug-in directory is set';
    return `unknown action plug-in ${names}: it is not a built-in (${BUILTIN_NAMES.join(', ')}) and ${where}: add an executable there or give its directory with --plugin-dir DIR`;
  }

  /** Runs one plug-in to its end: resolves with DONE, rejects with a PluginFailure. */
  async run(call: PluginCall): Promise<PluginResult> {
    if (this.rehearsal) return rehearse(call, this.rehearsal.expectedS);
    const found = this.resolve(call.plugin, call.dirs);
    if (!found) throw new PluginFailure(`no plug-in named ${call.plugin} in ${call.dirs.join(', ') || 'any directory'}`, null, '', 0);
    const exec = (command: string, args: string[]) => this.exec(call, command, args);
    if ('builtin' in found) return BUILTINS[found.builtin]!.run({ call, exec });
    return exec(found.path, []);
  }

  private async exec(call: PluginCall, command: string, args: string[]): Promise<PluginResult> {
    const timeoutS = metadataNumber(call.metadata.timeout) ?? DEFAULT_TIMEOUT_S;
    const contract = pluginContract(call);
    mkdirSync(call.workDir, { recursive: true });
    const outcome = await runProcess({
      command,
      args,
      env: { ...inheritedEnv(), ...contract.env },
      stdin: `${JSON.stringify(contract.stdin)}\n`,
      cwd: call.workDir,
      timeoutMs: timeoutS * 1000,
      pidFile: join(call.workDir, 'run', `${call.runKey.replace(/[^A-Za-z0-9_.-]/g, '_')}.pid`),
      clock: this.processClock,
      signal: call.signal,
      onOutput: call.onOutput,
    });
    if (outcome.exitStatus === 0 && !outcome.timedOut) return { output: outcome.output, outputChars: outcome.outputChars, exitStatus: 0 };
    throw new PluginFailure(failureText(outcome, timeoutS), outcome.exitStatus, outcome.output, outcome.outputChars);
  }

  /**
   * Fetches the session's download list into its work directory (plug-in bundles unpacked), then
   * checks that every plug-in it names can be found now. Returns what was done, a line a file.
   */
  async fetchDownloads(session: Session, pause: (ms: number) => Promise<void>): Promise<string[]> {
    if (this.rehearsal) return session.download.map(() => 'not fetched in a rehearsal');
    const { downloadAll, DEFAULT_MAX_DOWNLOAD_BYTES } = await import('./downloads.js');
    const done = await downloadAll({
      entries: session.download,
      workDir: this.workDir(session.id),
      pluginDir: this.downloadedPlugins(session.id),
      maxBytes: this.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES,
      pause,
    });
    const problem = this.problems(session.actions, this.searchPath(session));
    if (problem) throw new Error(`after the downloads: ${problem}`);
    return done;
  }
}

/** A rehearsed run: it takes its expected time on the session's clock and does nothing. */
function rehearse(call: PluginCall, defaultS: number): Promise<PluginResult> {
  const m = call.metadata;
  const expected = metadataNumber(m.expected_s) ?? (call.plugin === 'wait' ? metadataNumber(m.seconds) : null) ?? defaultS;
  return new Promise((resolve) =>
    call.clock.at(call.clock.now() + Math.max(0, expected) * 1000, () =>
      resolve(said(`rehearsal: ${call.plugin} (${call.type}) would run${call.host ? ` on ${call.host}` : ''}, expected ${expected} s\n`)),
    ),
  );
}

/** The environment and stdin document every plug-in gets (README, "Writing a plug-in"). */
export function pluginContract(call: PluginCall): { env: Record<string, string>; stdin: Record<string, unknown> } {
  const env: Record<string, string> = {
    MAINTCTL_SESSION_ID: call.sessionId,
    MAINTCTL_PLUGIN: call.plugin,
    MAINTCTL_PLUGIN_TYPE: call.type,
    MAINTCTL_METADATA: JSON.stringify(call.metadata),
    MAINTCTL_SESSION_METADATA: JSON.stringify(call.sessionMetadata),
    MAINTCTL_WORK_DIR: call.workDir,
  };
  if (call.host !== null) env.MAINTCTL_HOST = call.host;
  if (call.hostType !== null) env.MAINTCTL_HOST_TYPE = call.hostType;
  if (call.release) {
    env.MAINTCTL_RELEASE_FROM = call.release.from;
    env.MAINTCTL_RELEASE_TO = call.release.to;
    if (call.release.repoSource) env.MAINTCTL_REPO_SOURCE = call.release.repoSource;
  }
  const stdin: Record<string, unknown> = {
    session_id: call.sessionId,
    host: call.host,
    host_type: call.hostType,
    plugin: call.plugin,
    plugin_type: call.type,
    metadata: call.metadata,
    session_metadata: call.sessionMetadata,
    work_dir: call.workDir,
    ...(call.release ? { release_from: call.release.from, release_to: call.release.to, repo_source: call.release.repoSource ?? null } : {}),
  };
  return { env, stdin };
}

/** The engine's environment without its own MAINTCTL_ variables (a plug-in sees only its contract's). */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MAINTCTL_')) env[k] = v;
  return env;
}

/** Lines of output quoted in a failure's cause. */
const CAUSE_LINES = 5;
const CAUSE_LINE_CHARS = 200;

export function lastLines(output: string, count = CAUSE_LINES): string[] {
  return output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim())
    .slice(-count)
    .map((l) => (l.length > CAUSE_LINE_CHARS ? `${l.slice(0, CAUSE_LINE_CHARS)}...` : l));
}

function failureText(o: ProcessOutcome, timeoutS: number): string {
  const what = o.startError
    ? `could not be started: ${o.startError}`
    : o.timedOut
      ? `ran past its timeout of ${timeoutS} s and was killed with its process group`
      : o.exitStatus !== null
        ? `exit status ${o.exitStatus}`
        : `killed by ${o.signal ?? 'a signal'}`;
  const lines = lastLines(o.output);
  return lines.length ? `${what}; last output: ${lines.join(' | ')}` : `${what}; no output`;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// ---- ssh

const SSH_FIELDS = ['user', 'identity_file', 'known_hosts', 'address'] as const;

function sshMetadataProblem(m: Record<string, unknown>): string | null {
  for (const f of SSH_FIELDS) if (m[f] !== undefined && typeof m[f] !== 'string') return `metadata ${f} must be a string`;
  const port = metadataNumber(m.port);
  if (m.port !== undefined && !(port !== null && Number.isInteger(port) && port > 0 && port < 65536)) return 'metadata port must be a TCP port number';
  return null;
}

/** Quoted for a POSIX shell: the remote side runs the command through the user's login shell. */
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The ssh command line: BatchMode (no password or host-key prompt), the host (or metadata
 * address, `{host}` replaced by the host's name) as target, the contract's variables set for the
 * remote command with env(1); the JSON document reaches it on stdin.
 */
export function sshArgs(call: PluginCall): string[] {
  const m = call.metadata;
  const host = call.host ?? 'localhost';
  const target = typeof m.address === 'string' ? m.address.replaceAll('{host}', host) : host;
  const args = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30'];
  if (m.port !== undefined) args.push('-p', String(m.port));
  if (typeof m.identity_file === 'string') args.push('-i', m.identity_file, '-o', 'IdentitiesOnly=yes');
  if (typeof m.known_hosts === 'string') args.push('-o', `UserKnownHostsFile=${m.known_hosts}`, '-o', 'StrictHostKeyChecking=yes');
  if (typeof m.user === 'string') args.push('-l', m.user);
  const { env } = pluginContract(call);
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`);
  args.push('--', target, `env ${assignments.join(' ')} sh -c ${quote(String(m.command))}`);
  return args;
}
