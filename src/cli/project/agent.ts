// maintctl project agent: a VNFM for one project. It follows the project's notifications and
// answers by policy; where the application itself must act (scale in, re-instantiate, scale back
// out) it runs the hook given for that state, with the question (the `project show -o json`
// document) as JSON on stdin, and acknowledges only if the hook exits 0.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { NotFoundError } from '../../domain/errors.js';
import type { SessionEvent } from '../../domain/model.js';
import { SESSION_EVENT } from '../../domain/notifications.js';
import { INSTANCE_ACTIONS, isTerminal, type SessionState } from '../../domain/states.js';
import type { EngineClient } from '../../client/client.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { collect } from '../flags.js';
import { hintCommand } from '../hint.js';
import type { Run } from '../main.js';

export const HOOK_STATES = ['SCALE_IN', 'OWN_ACTION', 'MAINTENANCE_COMPLETE'] as const;

export interface AgentOptions {
  project: string;
  /** Follow one session (and stop when it ends), or every session (until stopped). */
  session: string | null;
  policy: 'ack' | 'nack';
  action: string;
  hooks: Record<string, string>;
}

interface AgentFlags {
  session?: string;
  all?: boolean;
  policy: string;
  action: string;
  hook: string[];
}

export function register(project: Command, run: Run): void {
  project
    .command('agent')
    .description("act as the project's VNFM: answer its notifications by policy, running hooks where the application must act")
    .argument('<project>', 'project id')
    .option('--session <id>', 'follow this session only, until it ends')
    .option('--all', 'follow every session until stopped (the default)')
    .option('--policy <ack|nack>', 'how to answer', 'ack')
    .option('--action <ACTION>', 'instance action to choose: MIGRATE, LIVE_MIGRATE or OWN_ACTION', 'MIGRATE')
    .option('--hook <STATE=command>', `command to run for ${HOOK_STATES.join(', ')} (repeatable; the question as JSON on stdin)`, collect, [])
    .action((projectId: string, flags: AgentFlags) => run((deps) => runAgent(parseAgentFlags(projectId, flags), deps)));
}

export function parseAgentFlags(project: string, flags: AgentFlags): AgentOptions {
  if (flags.session && flags.all) throw new UsageError('give either --session or --all, not both');
  const policy = flags.policy.toLowerCase();
  const action = flags.action.toUpperCase();
  if (policy !== 'ack' && policy !== 'nack') throw new UsageError(`invalid --policy "${flags.policy}": use ack or nack`);
  if (!(INSTANCE_ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(`invalid --action "${flags.action}": use ${INSTANCE_ACTIONS.join(', ')}`);
  }
  const hooks: Record<string, string> = {};
  for (const pair of flags.hook) {
    const eq = pair.indexOf('=');
    const state = pair.slice(0, eq).toUpperCase();
    if (eq <= 0 || !(HOOK_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`invalid --hook "${pair}": use STATE=COMMAND with STATE one of ${HOOK_STATES.join(', ')}`);
    }
    hooks[state] = pair.slice(eq + 1);
  }
  return { project, session: flags.session ?? null, policy, action, hooks };
}

const POLL_MS = 100;

/** An agent may be the first to use a state directory: it has no subscriptions then. */
function noStoreYet(err: unknown): never[] {
  if (err instanceof NotFoundError) return [];
  throw err;
}

export async function runAgent(options: AgentOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const sessionId = options.session ? await client.resolveId(options.session) : null;
  // Being subscribed is what makes the engine ask this project rather than apply its default
  // policy. A subscription the agent made is removed when it stops, so no later session waits
  // for answers from an agent that is gone.
  const existed = new Set((await client.subscriptions(options.project).catch(noStoreYet)).map((s) => s.id));
  const own = await client.subscribe({ projectId: options.project, eventType: 'maintenance.planned', url: null, format: 'fenix', sessionId });
  const stopping = { now: false };
  const stop = () => void (stopping.now = true);
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    await follow(options, deps, client, sessionId, stopping);
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    if (!existed.has(own.id)) await client.unsubscribe(options.project, { id: own.id });
  }
}

async function follow(options: AgentOptions, deps: Deps, client: EngineClient, sessionId: string | null, stopping: { now: boolean }) {
  const say = (text: string) => deps.io.out.write(`${new Date(deps.clock.now()).toISOString()} ${text}\n`);
  say(`agent for ${options.project}: ${sessionId ? `session ${sessionId}` : 'every session'}, policy ${options.policy}, action ${options.action}`);
  const answered = new Set<string>();
  // Start from now; questions asked before the agent started are picked up from the session rows.
  let after = await client.latestEventId();
  const handle = async (sid: string) => {
    const key = await answerOpenQuestion(client, sid, options, answered, say);
    if (key) answered.add(key);
  };
  // A session that had failed when the agent started may be continued (session update): the agent
  // waits for that, and ends at the first end after the session ran again.
  const sessions = await client.listSessions();
  let ranSinceFailure = !sessions.some((s) => s.session_id === sessionId && s.state === 'MAINTENANCE_FAILED');
  for (const s of sessions) if (!sessionId || s.session_id === sessionId) await handle(s.session_id);
  // Whether the followed session may have ended: looked at first, then after each state change.
  let mayHaveEnded = true;
  let toldWaiting = false;
  while (!stopping.now) {
    const all = await client.allEvents(after);
    if (all.length) after = all.at(-1)!.id;
    const events = all.filter((e) => !sessionId || e.sessionId === sessionId);
    for (const e of events.filter((x) => isForProject(x, options.project))) {
      if (e.payload.state === 'INSTANCE_ACTION_DONE') say(`session ${short(e.sessionId)} INSTANCE_ACTION_DONE ${String((e.payload.instance_ids as string[])[0])}`);
      else await handle(e.sessionId!);
    }
    const changes = events.filter((e) => e.eventType === SESSION_EVENT);
    mayHaveEnded ||= changes.length > 0;
    ranSinceFailure ||= changes.some((e) => !isTerminal(e.payload.state as SessionState));
    if (sessionId && mayHaveEnded) {
      mayHaveEnded = false;
      const state = await sessionState(client, sessionId, options.project);
      if (state === 'MAINTENANCE_FAILED' && !ranSinceFailure) {
        if (!toldWaiting) say(`session ${short(sessionId)} is MAINTENANCE_FAILED: waiting for it to be continued (${hintCommand(deps, `session update ${short(sessionId)}`)})`);
        toldWaiting = true;
      } else if (isTerminal(state as SessionState)) {
        say(`session ${short(sessionId)} ended ${state}`);
        return;
      } else ranSinceFailure = true;
    }
    await new Promise<void>((resolve) => deps.clock.at(deps.clock.now() + POLL_MS, resolve));
  }
  say('stopped');
}

const short = (id: string | null) => (id ?? '-').slice(0, 8);

/** The session's state as the project sees it (all a project token may read), else the whole session's. */
async function sessionState(client: EngineClient, sessionId: string, project: string): Promise<string> {
  try {
    return (await client.showProject(sessionId, project)).session_state;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    return (await client.showSession(sessionId)).state;
  }
}

const isForProject = (e: SessionEvent, project: string) =>
  (e.eventType === 'maintenance.planned' || e.eventType === 'maintenance.scheduled') && e.payload.project_id === project;

/** Answers the project's open question in the session, once; returns the question's key when answered. */
async function answerOpenQuestion(
  client: EngineClient,
  sessionId: string,
  options: AgentOptions,
  answered: Set<string>,
  say: (text: string) => void,
): Promise<string | null> {
  let q;
  try {
    q = await client.showProject(sessionId, options.project);
  } catch {
    return null; // the project has no instances in that session
  }
  if (!q.open || !q.state) return null;
  // Two waves can be asked within the same second: the wave tells their questions apart.
  const key = `${sessionId}:${q.state}:${q.wave ?? '-'}:${q.reply_at}`;
  if (answered.has(key)) return null;
  const asksActions = q.allowed_actions.length > 0;
  const hookState = asksActions && options.action === 'OWN_ACTION' ? 'OWN_ACTION' : q.state;
  let verdict: 'ACK' | 'NACK' = options.policy === 'ack' ? 'ACK' : 'NACK';
  let note = '';
  const hook = options.hooks[hookState];
  if (verdict === 'ACK' && hook) {
    const code = await runHook(hook, { ...q, hook_state: hookState }, { MAINTCTL_SESSION: sessionId, MAINTCTL_PROJECT: options.project, MAINTCTL_STATE: hookState });
    if (code !== 0) verdict = 'NACK';
    note = ` (hook ${hookState} exited ${code})`;
  }
  const state = `${verdict}_${q.state}`;
  const body: Record<string, unknown> = { state };
  if (verdict === 'ACK' && asksActions) body.instance_actions = Object.fromEntries(q.instance_ids.map((id) => [id, options.action]));
  try {
    await client.reply(sessionId, options.project, body);
    say(`session ${short(sessionId)} ${q.state} -> ${state}${asksActions && verdict === 'ACK' ? ` (${q.instance_ids.length} x ${options.action})` : ''}${note}`);
  } catch (err) {
    say(`session ${short(sessionId)} ${q.state}: reply refused: ${(err as Error).message}`);
  }
  return key;
}

/** Runs a hook with the question as JSON on stdin; resolves with its exit code. */
function runHook(command: string, payload: unknown, env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    child.on('error', () => resolve(127));
    child.on('exit', (code) => resolve(code ?? 1));
    child.stdin.end(JSON.stringify(payload));
  });
}
