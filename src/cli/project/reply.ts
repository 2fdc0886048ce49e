// maintctl project reply: a project's answer, from flags (scripts) or prompts (people).
import type { Command } from 'commander';
import { NotFoundError, RefusedError } from '../../domain/errors.js';
import { parseTime } from '../../domain/time.js';
import type { ProjectDocument } from '../../engine/project-view.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { collect } from '../flags.js';
import type { Run } from '../main.js';
import { inquirerPrompter, type Prompter } from '../prompts.js';
import { emit } from '../render/output.js';
import { projectView } from './show.js';

export interface ReplyOptions {
  session: string;
  project: string;
  verdict?: 'ACK' | 'NACK';
  /** A full reply state, e.g. ACK_PLANNED_MAINTENANCE (must match the question). */
  state?: string;
  /** Instance id or name -> action. */
  actions: Record<string, string>;
  allActions?: string;
}

interface ReplyFlags {
  ack?: boolean;
  nack?: boolean;
  state?: string;
  action: string[];
  allActions?: string;
}

export function register(project: Command, run: Run): void {
  project
    .command('reply')
    .description("answer the session's current question for a project (prompts on a terminal without decision flags)")
    .argument('<session>', 'session id or prefix')
    .argument('<project>', 'project id')
    .option('--ack', 'acknowledge the current state')
    .option('--nack', 'reject the current state (the session fails)')
    .option('--state <ACK_X|NACK_X>', 'the reply state in full, e.g. ACK_PLANNED_MAINTENANCE')
    .option('--action <instance=ACTION>', 'action for one instance (id or name): MIGRATE, LIVE_MIGRATE or OWN_ACTION (repeatable)', collect, [])
    .option('--all-actions <ACTION>', 'the same action for every affected instance')
    .action((session: string, projectId: string, flags: ReplyFlags) => run((deps) => runReply(parseReplyFlags(session, projectId, flags), deps)));
}

export function parseReplyFlags(session: string, project: string, flags: ReplyFlags): ReplyOptions {
  const verdicts = [flags.ack && 'ACK', flags.nack && 'NACK', flags.state && 'STATE'].filter(Boolean);
  if (verdicts.length > 1) throw new UsageError('give only one of --ack, --nack and --state');
  const actions: Record<string, string> = {};
  for (const pair of flags.action) {
    const eq = pair.lastIndexOf('=');
    if (eq <= 0) throw new UsageError(`invalid --action "${pair}": use INSTANCE=ACTION, e.g. --action vnf-a-0=MIGRATE`);
    actions[pair.slice(0, eq)] = pair.slice(eq + 1).toUpperCase();
  }
  if (flags.allActions && flags.action.length) throw new UsageError('give either --all-actions or --action, not both');
  const rejecting = flags.nack || flags.state?.toUpperCase().startsWith('NACK_');
  if (rejecting && (flags.allActions || flags.action.length)) throw new UsageError('instance actions go with an acknowledgement, not with NACK');
  // Action and state names in any case, as people type them (migrate, ack_maintenance).
  const state = flags.state?.toUpperCase();
  const allActions = flags.allActions?.toUpperCase();
  if (state && !/^(ACK|NACK)_[A-Z_]+$/.test(state)) {
    throw new UsageError(`invalid --state "${flags.state}": use ACK_<STATE> or NACK_<STATE>, e.g. ACK_PLANNED_MAINTENANCE`);
  }
  return {
    session,
    project,
    verdict: flags.ack ? 'ACK' : flags.nack ? 'NACK' : undefined,
    state,
    actions,
    allActions,
  };
}

const decided = (o: ReplyOptions) => Boolean(o.verdict || o.state || o.allActions || Object.keys(o.actions).length);

export async function runReply(options: ReplyOptions, deps: Deps & { prompter?: () => Promise<Prompter> }): Promise<void> {
  const client = deps.client();
  const question = await currentQuestion(options, deps);
  const body = decided(options) ? replyFromFlags(options, question) : await replyFromPrompts(question, deps);
  if (!body) {
    deps.io.err.write('Nothing sent.\n');
    return;
  }
  await client.reply(question.session_id, question.project_id, body);
  const actions = Object.entries((body.instance_actions ?? {}) as Record<string, string>);
  const text = `replied ${String(body.state)} for ${question.project_id} in session ${question.session_id}${actions.length ? ` (${actions.length} instance action${actions.length === 1 ? '' : 's'})` : ''}`;
  emit(deps.io, deps.format, { session_id: question.session_id, project_id: question.project_id, ...body }, () => text);
}

/** The open question, or a refusal saying why there is none. */
async function currentQuestion(options: ReplyOptions, deps: Deps): Promise<ProjectDocument & { state: string }> {
  let doc: ProjectDocument;
  try {
    doc = await deps.client().showProject(options.session, options.project);
  } catch (err) {
    if (err instanceof NotFoundError && /project/.test(err.message)) throw new RefusedError(err.message);
    throw err;
  }
  const last = doc.last_question;
  const missed = last && !last.reply_state && last.reply_at !== null && parseTime(last.reply_at) <= deps.clock.now();
  if (!doc.state && missed && doc.session_state === 'MAINTENANCE_FAILED') {
    throw new RefusedError(`the deadline to answer ${last!.state} passed at ${last!.reply_at} UTC; the session is MAINTENANCE_FAILED`);
  }
  if (!doc.state) throw new RefusedError(`project ${doc.project_id} is asked nothing now (session ${doc.session_state})`);
  if (!doc.open) {
    throw new RefusedError(
      doc.reply_state
        ? `project ${doc.project_id} already answered ${doc.state} with ${doc.reply_state}`
        : `session ${doc.session_id} is ${doc.session_state}: it asks nothing`,
    );
  }
  return doc as ProjectDocument & { state: string };
}

function replyFromFlags(options: ReplyOptions, q: ProjectDocument & { state: string }): Record<string, unknown> {
  const state = options.state ?? `${options.verdict ?? 'ACK'}_${q.state}`;
  if (state !== `ACK_${q.state}` && state !== `NACK_${q.state}`) {
    throw new RefusedError(`project ${q.project_id} is asked ${q.state}, so the reply is ACK_${q.state} or NACK_${q.state}, not ${state}`);
  }
  const wanted: Record<string, string> = options.allActions
    ? Object.fromEntries(q.instances.map((i) => [i.instance_id, options.allActions!]))
    : options.actions;
  const instance_actions: Record<string, string> = {};
  for (const [key, action] of Object.entries(wanted)) {
    const inst = q.instances.find((i) => i.instance_id === key || i.name === key);
    if (!inst) throw new RefusedError(`instance ${key} is not one of project ${q.project_id}'s instances in ${q.state}`);
    if (!q.allowed_actions.includes(action)) {
      throw new RefusedError(
        q.allowed_actions.length ? `action ${action} is not allowed: choose ${q.allowed_actions.join(', ')}` : `${q.state} takes no instance actions`,
      );
    }
    instance_actions[inst.instance_id] = action;
  }
  return Object.keys(instance_actions).length ? { state, instance_actions } : { state };
}

/** Asks on the terminal: acknowledge or reject, then each instance's action, then confirm. */
async function replyFromPrompts(q: ProjectDocument & { state: string }, deps: Deps & { prompter?: () => Promise<Prompter> }) {
  if (!deps.io.canPrompt) {
    throw new UsageError('no decision given and no terminal to ask on: use --ack, --nack or --state, with --action INSTANCE=ACTION or --all-actions ACTION');
  }
  const prompter = await (deps.prompter ?? inquirerPrompter)();
  deps.io.out.write(`${projectView(deps, q)}\n\n`);
  const verdict = await prompter.verdict(`${q.state} for ${q.project_id}, reply by ${q.reply_at ?? '-'} UTC:`);
  const instance_actions: Record<string, string> = {};
  if (verdict === 'ACK') {
    for (const inst of q.instances.filter(() => q.allowed_actions.length)) {
      instance_actions[inst.instance_id] = await prompter.action(`${inst.name} on ${inst.host}:`, q.allowed_actions, inst.action);
    }
  }
  const state = `${verdict}_${q.state}`;
  const summary = Object.keys(instance_actions).length
    ? `${state} with ${Object.entries(instance_actions).map(([id, a]) => `${q.instances.find((i) => i.instance_id === id)?.name ?? id}=${a}`).join(', ')}`
    : state;
  if (!(await prompter.confirm(`Send ${summary}?`))) return null;
  return Object.keys(instance_actions).length ? { state, instance_actions } : { state };
}
