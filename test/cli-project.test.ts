// maintctl project show / reply / agent / subscribe, run as an application's operator or VNFM
// would, twice: embedded over a fresh state directory per test, and remote against a `maintctl
// serve` of its own per test (test/support/cli-world.ts). Commands, followers and agents run in
// this process (main() with a buffer IO), and so do the engines; a reply on a terminal runs the
// built CLI in a pseudo-terminal. Sessions run on real time (sim clouds with timings of 50 ms).
//
// The projects here are not declared in the cloud file, so no scripted VNFM answers for them:
// they are answered by these tests (`project reply`, by flags or on a pseudo-terminal), by a
// `project agent`, or by a policy (`session create --unsubscribed P=migrate`).
//
// The tests never sleep. They block on the CLI: `session show --watch -o json` until a session
// ends, an agent that ends with its session, and, to learn when a project is asked something,
// `session show --watch` running alongside, whose output (not a terminal) is a line per event,
// e.g. "+00:00:01  project    proj-m asked PLANNED_MAINTENANCE, reply by ..." (see `followSession`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliResult } from './support/cli.js';
import { CLI_MODES, cliWorld, type CliWorld, type Started } from './support/cli-world.js';
import { KEY, typeInTerminal } from './support/terminal.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ONE_ERROR_LINE = /^maintctl: [^\n]+\n$/;
const FENIX_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const MOVE_ACTIONS = ['MIGRATE', 'LIVE_MIGRATE', 'OWN_ACTION'];

/** Worlds of every test, closed at the end (sessions left waiting deleted, engines and servers stopped). */
const worlds: CliWorld[] = [];

async function ok(w: CliWorld, args: string[]): Promise<string> {
  const r = await w.run(args);
  expect(r, args.join(' ')).toMatchObject({ code: 0, stderr: '' });
  return r.stdout;
}

const TIME_TO_ANSWER = ['--reply-timeout', '120s', '--scale-in-timeout', '120s'];

const TIMING = 'timing: {migrate_s: 0.05, live_migrate_s: 0.05, host_maintenance_s: 0.05}\n';

/** proj-m alone, on compute-0; two empty computes, so it is asked PLANNED_MAINTENANCE for compute-0. */
const ONE_PROJECT = `hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances: [{name: m-0, project: proj-m, host: compute-0, vcpus: 2}]
${TIMING}`;

/** proj-m and proj-n share compute-0: both are asked every question, so one waits for the other. */
const TWO_PROJECTS = `hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances: [{name: m-0, project: proj-m, host: compute-0, vcpus: 2}, {name: n-0, project: proj-n, host: compute-0, vcpus: 2}]
${TIMING}`;

/** No room to empty a compute: the session asks SCALE_IN. */
const FULL = `hosts: [{name: compute-0, vcpus: 2}, {name: compute-1, vcpus: 2}]
instances: [{name: s-0, project: proj-s, host: compute-0, vcpus: 2}, {name: s-1, project: proj-s, host: compute-1, vcpus: 2}]
${TIMING}`;

/** Three projects nobody declared (no scripted VNFM), on three of four computes. */
const THREE_PROJECTS = `hosts:
  - {name: ctl-0, type: controller}
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
  - {name: compute-3, vcpus: 4}
instances:
  - {name: g-0, project: proj-g, host: compute-0, vcpus: 2}
  - {name: u-0, project: proj-u, host: compute-0, vcpus: 2}
  - {name: m-0, project: proj-m, host: compute-1, vcpus: 2}
  - {name: u-1, project: proj-u, host: compute-1, vcpus: 2}
  - {name: g-1, project: proj-g, host: compute-2, vcpus: 2}
${TIMING}`;

interface ProjectDoc {
  session_id: string;
  project_id: string;
  session_state: string;
  state: string | null;
  reply_state: string | null;
  reply_at: string | null;
  open: boolean;
  allowed_actions: string[];
  metadata: Record<string, unknown>;
  instance_ids: string[];
  instances: Array<{ instance_id: string; name: string; host: string; action: string | null; action_done: boolean }>;
}

interface SessionDoc {
  session_id: string;
  state: string;
  failure: string | null;
  hosts: Array<{ name: string; type: string; state: string; maintained: boolean; disabled: boolean }>;
  instances: Array<{ instance_id: string; name: string; project_id: string; host: string; action: string | null }>;
  events: Array<{ event_type: string; payload: Record<string, unknown> }>;
}

async function createSession(w: CliWorld, cloudYaml: string, flags: string[] = []): Promise<string> {
  const out = await ok(w, ['session', 'create', '--cloud', w.cloud('cloud.yaml', cloudYaml), ...flags]);
  const id = out.trim();
  expect(id).toMatch(UUID);
  return id;
}

async function sessionJson(w: CliWorld, id: string): Promise<SessionDoc> {
  return JSON.parse(await ok(w, ['-o', 'json', 'session', 'show', id])) as SessionDoc;
}

/** `session show --watch -o json`: blocks until the session ends; exit 0 done, 3 failed. */
async function watch(w: CliWorld, id: string): Promise<CliResult & { doc: SessionDoc }> {
  const r = await w.run(['-o', 'json', 'session', 'show', id, '--watch']);
  return { ...r, doc: JSON.parse(r.stdout) as SessionDoc };
}

/** `session show ID --watch` alongside the test: one line per event as the session goes on; it ends with the session (3 failed, 5 deleted). */
const followSession = (w: CliWorld, id: string): Started => w.start(['session', 'show', id, '--watch']);

/** Waits until the session asks the project `state`, and returns the question (`project show -o json`). */
async function question(follower: Started, w: CliWorld, id: string, project: string, state: string): Promise<ProjectDoc> {
  await follower.next(new RegExp(`^\\+[\\d:]+ +project +${project} asked ${state}, reply by `));
  const doc = JSON.parse(await ok(w, ['-o', 'json', 'project', 'show', id, project])) as ProjectDoc;
  expect(doc).toMatchObject({ project_id: project, state, open: true });
  return doc;
}

/** Runs body with a session the test leaves waiting for answers (followed by `session show --watch`), then deletes the session. */
async function withWaitingSession(w: CliWorld, id: string, body: (follower: Started) => Promise<void>): Promise<void> {
  const follower = followSession(w, id);
  await body(follower);
  expect(await w.run(['session', 'delete', id])).toMatchObject({ code: 0, stderr: '' });
  // The watch hears of the deletion and ends (exit 5).
  expect(await follower.ended()).toBe(5);
  expect(follower.stderr()).toBe(`maintctl: no session ${id}\n`);
}

/** What a refused reply must leave alone: the replies table and the project's row. */
function storeSnapshot(dir: string, id: string, project: string) {
  const db = new Database(join(dir, 'maintctl.db'), { readonly: true });
  try {
    return {
      replies: (db.prepare('SELECT COUNT(*) AS n FROM replies').get() as { n: number }).n,
      project: db.prepare('SELECT * FROM projects WHERE session_id = ? AND project_id = ?').get(id, project) as Record<string, unknown> | undefined,
    };
  } finally {
    db.close();
  }
}

/** `maintctl project agent PROJECT ...` alongside the test; it ends with its session. */
const startAgent = (w: CliWorld, project: string, args: string[]): Started => w.start(['project', 'agent', project, ...args]);

/** The lines an agent prints per answered question: "<time> session <id8> STATE -> REPLY[ ...]". */
function agentAnswers(lines: string[]): string[] {
  return lines.flatMap((l) => {
    const m = /^\S+ session [0-9a-f]{8} ([A-Z_]+) -> ((?:ACK|NACK)_[A-Z_]+)/.exec(l);
    return m ? [`${m[1]} -> ${m[2]}`] : [];
  });
}

const replyEvents = (doc: SessionDoc, project: string) =>
  doc.events.filter((e) => e.event_type === 'maintctl.reply' && e.payload.project_id === project).map((e) => e.payload);

const finishedOperations = (doc: SessionDoc, kind: string) =>
  doc.events
    .filter((e) => e.event_type === 'maintctl.operation' && e.payload.kind === kind && e.payload.status === 'done')
    .map((e) => String(e.payload.target));

const computesAllMaintained = (doc: SessionDoc) => {
  const computes = doc.hosts.filter((h) => h.type === 'compute');
  expect(computes.length).toBeGreaterThan(0);
  for (const h of computes) expect(h, h.name).toMatchObject({ state: 'MAINTAINED', maintained: true, disabled: false });
};

/** Runs maintctl in a pseudo-terminal (the built CLI, talking to the world's engine), typing each step's keys once its text is on the screen. */
const inTerminal = async (w: CliWorld, args: string[], steps: Array<[waitFor: string, keys: string]>) =>
  typeInTerminal([...(await w.globalFlags()), ...args], steps, { ...process.env, NO_COLOR: '1', CI: undefined, FORCE_COLOR: undefined });

afterAll(async () => {
  await Promise.all(worlds.map((w) => w.close()));
});

// Every test has a world of its own: they all run side by side.
describe.each(CLI_MODES)('maintctl project (%s)', (mode) => {
  const world = async () => {
    const w = await cliWorld(mode);
    worlds.push(w);
    return w;
  };

  describe.concurrent('project show', () => {
    it('shows the asked state, the reply deadline and the affected instances, as a table and as JSON; exit 5 when unknown', async () => {
      const w = await world();
      await ok(w, ['project', 'subscribe', 'proj-m']);
      const id = await createSession(w, ONE_PROJECT, [...TIME_TO_ANSWER, '--metadata', 'ticket=CHG-7']);
      await withWaitingSession(w, id, async (follower) => {
        const q = await question(follower, w, id, 'proj-m', 'MAINTENANCE');

        // JSON: Fenix's project API answer (instance_ids) and what a person or VNFM needs to answer.
        expect(q).toMatchObject({
          session_id: id,
          project_id: 'proj-m',
          session_state: 'MAINTENANCE',
          state: 'MAINTENANCE',
          reply_state: null,
          open: true,
          allowed_actions: [],
          metadata: { ticket: 'CHG-7' },
        });
        expect(q.reply_at).toMatch(FENIX_TIME);
        expect(q.instances).toHaveLength(1);
        expect(q.instances[0]).toMatchObject({ name: 'm-0', host: 'compute-0', action: null });
        expect(q.instances[0]!.instance_id).toMatch(UUID);
        expect(q.instance_ids).toEqual([q.instances[0]!.instance_id]);

        const table = await ok(w, ['project', 'show', id, 'proj-m']);
        expect(table).toContain(`Project   proj-m in session ${id}\n`);
        expect(table).toContain(`Asked     MAINTENANCE, reply by ${q.reply_at} UTC\n`);
        expect(table).toMatch(/^Metadata +ticket=CHG-7$/m);
        expect(table).toMatch(/^INSTANCE +NAME +HOST +ACTION$/m);
        expect(table).toMatch(new RegExp(`^${q.instance_ids[0]} +m-0 +compute-0 +-$`, 'm'));
        expect(table).not.toMatch(/^Actions/m);

        // Unknown session or a project with no instances in the session: exit 5, one line.
        expect(await w.run(['project', 'show', 'nosuch', 'proj-m'])).toEqual({ code: 5, stdout: '', stderr: 'maintctl: no session nosuch\n' });
        const unknown = '00000000-0000-4000-8000-000000000000';
        expect(await w.run(['-o', 'json', 'project', 'show', unknown, 'proj-m'])).toEqual({ code: 5, stdout: '', stderr: `maintctl: no session ${unknown}\n` });
        expect(await w.run(['project', 'show', id, 'proj-zz'])).toEqual({
          code: 5,
          stdout: '',
          stderr: `maintctl: project proj-zz has no instances in session ${id}\n`,
        });

        // Acknowledged: the next question asks for an action per instance.
        await ok(w, ['project', 'reply', id, 'proj-m', '--ack']);
        const planned = await question(follower, w, id, 'proj-m', 'PLANNED_MAINTENANCE');
        expect(planned).toMatchObject({ state: 'PLANNED_MAINTENANCE', open: true, allowed_actions: MOVE_ACTIONS, instance_ids: q.instance_ids });
        const plannedTable = await ok(w, ['project', 'show', id.slice(0, 8), 'proj-m']);
        expect(plannedTable).toContain(`Asked     PLANNED_MAINTENANCE, reply by ${planned.reply_at} UTC\n`);
        expect(plannedTable).toMatch(/^Actions +MIGRATE, LIVE_MIGRATE, OWN_ACTION$/m);
        expect(plannedTable).toMatch(new RegExp(`^${q.instance_ids[0]} +m-0 +compute-0 +\\(to choose\\)$`, 'm'));
      });
    });
  });

  describe.concurrent('project reply refusals', () => {
    /** Runs a reply that must be refused (exit 6, one line) and checks the store did not change. */
    async function refused(w: CliWorld, id: string, args: string[], message: RegExp, code = 6): Promise<void> {
      const before = storeSnapshot(w.storeDir, id, 'proj-m');
      const r = await w.run(['project', 'reply', id, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(ONE_ERROR_LINE);
      expect(r.stderr).toMatch(message);
      expect(storeSnapshot(w.storeDir, id, 'proj-m'), args.join(' ')).toEqual(before);
    }

    it('refuses replies that do not fit MAINTENANCE, and a second answer, with the store unchanged', async () => {
      const w = await world();
      await ok(w, ['project', 'subscribe', 'proj-m']);
      await ok(w, ['project', 'subscribe', 'proj-n']);
      const id = await createSession(w, TWO_PROJECTS, TIME_TO_ANSWER);
      await withWaitingSession(w, id, async (follower) => {
        await question(follower, w, id, 'proj-m', 'MAINTENANCE');
        expect(storeSnapshot(w.storeDir, id, 'proj-m').project).toMatchObject({ state: 'MAINTENANCE', reply_state: null });

        // MAINTENANCE is asked.
        await refused(w, id, ['proj-m', '--state', 'ACK_SCALE_IN'], /proj-m is asked MAINTENANCE, so the reply is ACK_MAINTENANCE or NACK_MAINTENANCE, not ACK_SCALE_IN/);
        await refused(w, id, ['proj-m', '--ack', '--all-actions', 'MIGRATE'], /^maintctl: MAINTENANCE takes no instance actions\n$/);
        await refused(w, id, ['proj-m', '--ack', '--action', 'm-0=MIGRATE'], /^maintctl: MAINTENANCE takes no instance actions\n$/);
        await refused(w, id, ['proj-m', '--ack', '--action', 'other-instance=MIGRATE'], /instance other-instance is not one of project proj-m's instances in MAINTENANCE/);
        await refused(w, id, ['proj-zz', '--ack'], new RegExp(`^maintctl: project proj-zz has no instances in session ${id}\\n$`));
        // No decision and no terminal to ask on: a usage error naming the flags.
        await refused(w, id, ['proj-m'], /no terminal to ask on: use --ack, --nack or --state/, 2);

        // Answered once; the question stays (proj-n has not answered), a second answer is refused.
        const before = storeSnapshot(w.storeDir, id, 'proj-m');
        expect(await ok(w, ['project', 'reply', id, 'proj-m', '--ack'])).toBe(`replied ACK_MAINTENANCE for proj-m in session ${id}\n`);
        const after = storeSnapshot(w.storeDir, id, 'proj-m');
        expect(after.replies).toBe(before.replies + 1);
        expect(after.project).toMatchObject({ state: 'MAINTENANCE', reply_state: 'ACK_MAINTENANCE' });
        await refused(w, id, ['proj-m', '--ack'], /^maintctl: project proj-m already answered MAINTENANCE with ACK_MAINTENANCE\n$/);
      });
    });

    it('refuses instances and actions that do not fit PLANNED_MAINTENANCE, with the store unchanged', async () => {
      const w = await world();
      await ok(w, ['project', 'subscribe', 'proj-m']);
      await ok(w, ['project', 'subscribe', 'proj-n']);
      const id = await createSession(w, TWO_PROJECTS, TIME_TO_ANSWER);
      await withWaitingSession(w, id, async (follower) => {
        await question(follower, w, id, 'proj-m', 'MAINTENANCE');
        await ok(w, ['project', 'reply', id, 'proj-m', '--ack']);
        await ok(w, ['project', 'reply', id, 'proj-n', '--ack']);
        // PLANNED_MAINTENANCE is asked of both (they share compute-0).
        await question(follower, w, id, 'proj-m', 'PLANNED_MAINTENANCE');
        const doc = await sessionJson(w, id);
        const [m0, n0] = ['m-0', 'n-0'].map((name) => doc.instances.find((i) => i.name === name)!);
        // An ACK that leaves an instance without an action is a usage error (exit 2), also refused.
        await refused(w, id, ['proj-m', '--ack'], new RegExp(`^maintctl: ACK_PLANNED_MAINTENANCE must choose an action \\(MIGRATE, LIVE_MIGRATE, OWN_ACTION\\) for every affected instance; missing: ${m0!.instance_id}\\n$`), 2);
        await refused(w, id, ['proj-m', '--ack', '--action', 'other-instance=MIGRATE'], /instance other-instance is not one of project proj-m's instances in PLANNED_MAINTENANCE/);
        await refused(w, id, ['proj-m', '--ack', '--action', 'n-0=MIGRATE'], /instance n-0 is not one of project proj-m's instances in PLANNED_MAINTENANCE/);
        await refused(w, id, ['proj-m', '--ack', '--action', `${n0!.instance_id}=MIGRATE`], new RegExp(`instance ${n0!.instance_id} is not one of project proj-m's`));
        await refused(w, id, ['proj-m', '--ack', '--all-actions', 'REBOOT'], /^maintctl: action REBOOT is not allowed: choose MIGRATE, LIVE_MIGRATE, OWN_ACTION\n$/);
        await refused(w, id, ['proj-m', '--state', 'ACK_MAINTENANCE'], /proj-m is asked PLANNED_MAINTENANCE, so the reply is ACK_PLANNED_MAINTENANCE or NACK_PLANNED_MAINTENANCE, not ACK_MAINTENANCE/);
      });
    });

    it('refuses a reply once the deadline has passed and the session failed', async () => {
      const w = await world();
      await ok(w, ['project', 'subscribe', 'proj-m']);
      const id = await createSession(w, ONE_PROJECT, ['--reply-timeout', '0.3s']);
      const end = await watch(w, id);
      expect(end.code).toBe(3);
      expect(end.stderr).toMatch(/^maintctl: session [0-9a-f-]{36} failed: project proj-m did not answer MAINTENANCE by its deadline/);
      expect(end.doc.state).toBe('MAINTENANCE_FAILED');
      await refused(w, id, ['proj-m', '--ack'], /^maintctl: the deadline to answer MAINTENANCE passed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; the session is MAINTENANCE_FAILED\n$/);
    });
  });

  describe.concurrent('project reply on a terminal', () => {
    it('asks ACK or NACK, then each instance an action, then to confirm; the choice is carried out', async () => {
      const w = await world();
      await ok(w, ['project', 'subscribe', 'proj-m']);
      const id = await createSession(w, ONE_PROJECT, TIME_TO_ANSWER);
      const follower = followSession(w, id);
      await question(follower, w, id, 'proj-m', 'MAINTENANCE');
      await ok(w, ['project', 'reply', id, 'proj-m', '--ack']);
      const q = await question(follower, w, id, 'proj-m', 'PLANNED_MAINTENANCE');

      const r = await inTerminal(w, ['project', 'reply', id, 'proj-m'], [
        ['PLANNED_MAINTENANCE for proj-m', KEY.enter], // "Acknowledge" is the first choice
        ['m-0 on compute-0:', KEY.down], // MIGRATE is first; one down is LIVE_MIGRATE
        ['❯ LIVE_MIGRATE', KEY.enter],
        ['Send ACK_PLANNED_MAINTENANCE with m-0=LIVE_MIGRATE?', KEY.enter], // Yes is the default
      ]);
      expect(r.stderr).toBe('');
      expect(r.code, r.plain).toBe(0);
      // The question as the project sees it, then the prompts and what was chosen.
      expect(r.plain).toContain(`Project   proj-m in session ${id}\n`);
      expect(r.plain).toContain(`Asked     PLANNED_MAINTENANCE, reply by ${q.reply_at} UTC\n`);
      expect(r.plain).toMatch(new RegExp(`^${q.instance_ids[0]} +m-0 +compute-0 +\\(to choose\\)`, 'm'));
      expect(r.plain).toContain(`? PLANNED_MAINTENANCE for proj-m, reply by ${q.reply_at} UTC:`);
      expect(r.plain).toMatch(/Acknowledge[\s\S]*Reject/);
      expect(r.plain).toMatch(/m-0 on compute-0: LIVE_MIGRATE/);
      expect(r.plain).toContain(`replied ACK_PLANNED_MAINTENANCE for proj-m in session ${id} (1 instance action)`);

      // The session goes on to MAINTENANCE_COMPLETE, which asks once more.
      await question(follower, w, id, 'proj-m', 'MAINTENANCE_COMPLETE');
      await ok(w, ['project', 'reply', id, 'proj-m', '--ack']);
      expect(await follower.ended()).toBe(0);
      const end = await watch(w, id);
      expect(end.code, end.stderr).toBe(0);
      expect(end.doc.state).toBe('MAINTENANCE_DONE');
      computesAllMaintained(end.doc);
      expect(replyEvents(end.doc, 'proj-m').map((p) => [p.state, p.instance_actions])).toEqual([
        ['ACK_MAINTENANCE', {}],
        ['ACK_PLANNED_MAINTENANCE', { [q.instance_ids[0]!]: 'LIVE_MIGRATE' }],
        ['ACK_MAINTENANCE_COMPLETE', {}],
      ]);
      expect(finishedOperations(end.doc, 'live_migrate')).toEqual(q.instance_ids);
      expect(finishedOperations(end.doc, 'migrate')).toEqual([]);
      expect(end.doc.instances.find((i) => i.name === 'm-0')!.host).not.toBe('compute-0');
    });

    it('Ctrl-C at a prompt prints "cancelled", exits 130 and sends nothing; replies take action and state names in any case', async () => {
      const w = await world();
      await ok(w, ['project', 'subscribe', 'proj-m']);
      const id = await createSession(w, ONE_PROJECT, TIME_TO_ANSWER);
      const follower = followSession(w, id);
      await question(follower, w, id, 'proj-m', 'MAINTENANCE');
      const r = await inTerminal(w, ['project', 'reply', id, 'proj-m'], [['MAINTENANCE for proj-m', KEY.ctrlC]]);
      expect(r.code, r.plain).toBe(130);
      expect(r.plain).toMatch(/maintctl: cancelled\n$/);
      expect((JSON.parse(await ok(w, ['-o', 'json', 'project', 'show', id, 'proj-m'])) as ProjectDoc).open).toBe(true);

      expect(await ok(w, ['project', 'reply', id.toUpperCase().slice(0, 8), 'proj-m', '--state', 'ack_maintenance'])).toBe(`replied ACK_MAINTENANCE for proj-m in session ${id}\n`);
      await question(follower, w, id, 'proj-m', 'PLANNED_MAINTENANCE');
      expect(await ok(w, ['project', 'reply', id, 'proj-m', '--all-actions', 'live_migrate'])).toMatch(/^replied ACK_PLANNED_MAINTENANCE for proj-m .*\(1 instance action\)\n$/);
      await question(follower, w, id, 'proj-m', 'MAINTENANCE_COMPLETE');
      await ok(w, ['project', 'reply', id, 'proj-m', '--ack']);
      const end = await watch(w, id);
      expect(end.doc.state).toBe('MAINTENANCE_DONE');
      expect(finishedOperations(end.doc, 'live_migrate')).toHaveLength(1);
    });
  });

  describe.concurrent('one session, three kinds of project', () => {
    it('an agent, a policy and a person answering by hand take a session to MAINTENANCE_DONE', async () => {
      const w = await world();
      // Subscribed before the session's MAINTENANCE check, so both are asked rather than failed.
      await ok(w, ['project', 'subscribe', 'proj-g']);
      await ok(w, ['project', 'subscribe', 'proj-m']);
      const id = await createSession(w, THREE_PROJECTS, [...TIME_TO_ANSWER, '--unsubscribed', 'proj-u=migrate']);
      const agent = startAgent(w, 'proj-g', ['--session', id]);
      const follower = followSession(w, id);
      {
        expect(await agent.waitFor(/ agent for /)).toMatch(new RegExp(`agent for proj-g: session ${id}, policy ack, action MIGRATE$`));

        // proj-m by hand: whenever it is asked, acknowledge (choosing MIGRATE where actions are
        // asked), until the session ends.
        const byHand: string[] = [];
        for (;;) {
          const line = await follower.next(/ project +proj-m asked ([A-Z_]+),| session +\S+ -> (MAINTENANCE_DONE|MAINTENANCE_FAILED) /);
          if (line[2]) break;
          const q = JSON.parse(await ok(w, ['-o', 'json', 'project', 'show', id, 'proj-m'])) as ProjectDoc;
          expect(q).toMatchObject({ state: line[1], open: true });
          const args = ['project', 'reply', id, 'proj-m', '--ack'];
          if (q.allowed_actions.length) args.push('--all-actions', 'MIGRATE');
          await ok(w, args);
          byHand.push(q.state!);
        }
        expect(byHand).toEqual(['MAINTENANCE', 'PLANNED_MAINTENANCE', 'MAINTENANCE_COMPLETE']);
        expect(await follower.ended()).toBe(0);

        const end = await watch(w, id);
        expect(end.code, end.stderr).toBe(0);
        const doc = end.doc;
        expect(doc.state).toBe('MAINTENANCE_DONE');
        computesAllMaintained(doc);
        const ids = (...names: string[]) => names.map((n) => doc.instances.find((i) => i.name === n)!.instance_id);
        const migrated = finishedOperations(doc, 'migrate');
        for (const i of ids('g-0', 'g-1', 'u-0', 'u-1', 'm-0')) expect(migrated).toContain(i);
        expect(finishedOperations(doc, 'live_migrate')).toEqual([]);

        // proj-u was never asked: every reply of it is the policy's, moving its instances.
        const u = replyEvents(doc, 'proj-u');
        expect(u.length).toBeGreaterThan(0);
        for (const p of u) expect(p.by).toBe('policy migrate');
        const uActions = Object.assign({}, ...u.map((p) => p.instance_actions as Record<string, string>)) as Record<string, string>;
        expect(uActions).toEqual(Object.fromEntries(ids('u-0', 'u-1').map((i) => [i, 'MIGRATE'])));

        // proj-m's replies are the ones sent by hand.
        const m = replyEvents(doc, 'proj-m');
        expect(m.map((p) => p.state)).toEqual(byHand.map((s) => `ACK_${s}`));
        for (const p of m) expect(p.by).toBeUndefined();

        // The agent answered proj-g's every question, printed a line for each, and ended with the session.
        expect(await agent.ended()).toBe(0);
        expect(agent.stderr()).toBe('');
        const g = replyEvents(doc, 'proj-g');
        for (const p of g) expect(p.by).toBeUndefined();
        expect(g.map((p) => p.state)).toEqual(['ACK_MAINTENANCE', 'ACK_PLANNED_MAINTENANCE', 'ACK_PLANNED_MAINTENANCE', 'ACK_MAINTENANCE_COMPLETE']);
        expect(agentAnswers(agent.lines)).toEqual(g.map((p) => `${String(p.state).slice(4)} -> ${String(p.state)}`));
        expect(agent.lines.filter((l) => / PLANNED_MAINTENANCE -> /.test(l)).every((l) => l.endsWith('(1 x MIGRATE)'))).toBe(true);
        expect(agent.lines.at(-1)).toMatch(new RegExp(`session ${id.slice(0, 8)} ended MAINTENANCE_DONE$`));
      }
    });
  });

  describe.concurrent('project agent', () => {
    it('runs the SCALE_IN hook with the question on stdin and MAINTCTL_STATE set, and ACKs when it exits 0', async () => {
      const w = await world();
      const payloadFile = join(w.dir, 'payload.json');
      const stateFile = join(w.dir, 'state.txt');
      // The application scales in: it deletes its instance s-1 from the simulated cloud.
      const scaleIn = `python3 -c "import sqlite3; db = sqlite3.connect('${join(w.storeDir, 'maintctl.db')}', timeout=10); db.execute(\\"DELETE FROM sim_instances WHERE name = 's-1'\\"); db.commit()"`;
      const hook = `cat > '${payloadFile}' && printf '%s' "$MAINTCTL_STATE" > '${stateFile}' && ${scaleIn} && exit 0`;
      await ok(w, ['project', 'subscribe', 'proj-s']);
      const id = await createSession(w, FULL, TIME_TO_ANSWER);
      const agent = startAgent(w, 'proj-s', ['--session', id, '--hook', `SCALE_IN=${hook}`]);
      {
        expect(await agent.ended()).toBe(0);
        expect(agent.stderr()).toBe('');
        expect(agentAnswers(agent.lines)).toEqual([
          'MAINTENANCE -> ACK_MAINTENANCE',
          'SCALE_IN -> ACK_SCALE_IN',
          'PLANNED_MAINTENANCE -> ACK_PLANNED_MAINTENANCE',
          'MAINTENANCE_COMPLETE -> ACK_MAINTENANCE_COMPLETE',
        ]);
        expect(agent.lines.find((l) => / SCALE_IN -> /.test(l))).toMatch(/SCALE_IN -> ACK_SCALE_IN \(hook SCALE_IN exited 0\)$/);

        const end = await watch(w, id);
        expect(end.code, end.stderr).toBe(0);
        expect(end.doc.state).toBe('MAINTENANCE_DONE');
        computesAllMaintained(end.doc);

        // The hook got the question as JSON on stdin, and the state in its environment.
        const payload = JSON.parse(readFileSync(payloadFile, 'utf8')) as ProjectDoc & { hook_state: string };
        expect(payload).toMatchObject({ session_id: id, project_id: 'proj-s', state: 'SCALE_IN', open: true, allowed_actions: [], hook_state: 'SCALE_IN' });
        expect(payload.reply_at).toMatch(FENIX_TIME);
        expect(payload.instance_ids).toHaveLength(2);
        expect(payload.instances.map((i) => i.name).sort()).toEqual(['s-0', 's-1']);
        expect(payload.instance_ids.sort()).toEqual(payload.instances.map((i) => i.instance_id).sort());
        expect(readFileSync(stateFile, 'utf8')).toBe('SCALE_IN');
      }
    });

    it("NACKs when the hook exits 1, and the session fails naming the project's NACK", async () => {
      const w = await world();
      await ok(w, ['project', 'subscribe', 'proj-s']);
      const id = await createSession(w, FULL, TIME_TO_ANSWER);
      const agent = startAgent(w, 'proj-s', ['--session', id, '--hook', 'SCALE_IN=cat > /dev/null; exit 1']);
      {
        const end = await watch(w, id);
        expect(end.code).toBe(3);
        expect(end.stderr).toMatch(ONE_ERROR_LINE);
        expect(end.stderr).toMatch(/proj-s.*NACK_SCALE_IN/);
        expect(end.doc.state).toBe('MAINTENANCE_FAILED');
        expect(end.doc.failure).toMatch(/proj-s.*NACK_SCALE_IN/);
        expect(await agent.ended()).toBe(0);
        expect(agentAnswers(agent.lines)).toEqual(['MAINTENANCE -> ACK_MAINTENANCE', 'SCALE_IN -> NACK_SCALE_IN']);
        expect(agent.lines.find((l) => / SCALE_IN -> /.test(l))).toMatch(/\(hook SCALE_IN exited 1\)$/);
        expect(agent.lines.at(-1)).toMatch(/ended MAINTENANCE_FAILED$/);
      }
    });

    it('--policy nack rejects MAINTENANCE and the session fails', async () => {
      const w = await world();
      await ok(w, ['project', 'subscribe', 'proj-m']);
      const id = await createSession(w, ONE_PROJECT, TIME_TO_ANSWER);
      const agent = startAgent(w, 'proj-m', ['--session', id, '--policy', 'nack']);
      {
        const end = await watch(w, id);
        expect(end.code).toBe(3);
        expect(end.stderr).toMatch(`maintctl: session ${id} failed: project proj-m rejected MAINTENANCE (NACK_MAINTENANCE) (once the cause is fixed: `);
        expect(await agent.ended()).toBe(0);
        expect(agent.lines[0]).toMatch(/agent for proj-m: session .*, policy nack, action MIGRATE$/);
        expect(agentAnswers(agent.lines)).toEqual(['MAINTENANCE -> NACK_MAINTENANCE']);
        expect(replyEvents(end.doc, 'proj-m').map((p) => p.state)).toEqual(['NACK_MAINTENANCE']);
      }
    });
  });

  describe.concurrent('project subscribe, subscriptions, unsubscribe', () => {
    type Sub = { id: unknown; project_id: string; event_type: string; url: string | null; format: string; session_id: string | null };

    it('subscribes by webhook (aodh format) or to be followed with maintctl, lists, and unsubscribes', async () => {
      const w = await world();
      const url = 'http://vnfm.example:8080/maintenance';
      expect(await ok(w, ['project', 'subscribe', 'proj-w', '--url', url, '--format', 'aodh'])).toBe(
        `subscribed proj-w to maintenance.planned: ${url} (aodh)\n`,
      );
      expect(await ok(w, ['project', 'subscribe', 'proj-w', '--url', url, '--event', 'maintenance.host'])).toBe(
        `subscribed proj-w to maintenance.host: ${url} (fenix)\n`,
      );
      expect(await ok(w, ['project', 'subscribe', 'proj-f'])).toBe('subscribed proj-f to maintenance.planned: followed with maintctl (project agent, project reply)\n');
      const made = JSON.parse(await ok(w, ['-o', 'json', 'project', 'subscribe', 'proj-j', '--url', 'https://j.example/hook'])) as Sub;
      expect(made).toMatchObject({ project_id: 'proj-j', event_type: 'maintenance.planned', url: 'https://j.example/hook', format: 'fenix', session_id: null });

      const all = JSON.parse(await ok(w, ['-o', 'json', 'project', 'subscriptions'])) as Sub[];
      expect(all.map(({ id: _id, ...rest }) => rest)).toEqual(
        expect.arrayContaining([
          { project_id: 'proj-w', event_type: 'maintenance.planned', url, format: 'aodh', session_id: null },
          { project_id: 'proj-w', event_type: 'maintenance.host', url, format: 'fenix', session_id: null },
          { project_id: 'proj-f', event_type: 'maintenance.planned', url: null, format: 'fenix', session_id: null },
          { project_id: 'proj-j', event_type: 'maintenance.planned', url: 'https://j.example/hook', format: 'fenix', session_id: null },
        ]),
      );
      expect(all).toHaveLength(4);
      const onlyW = JSON.parse(await ok(w, ['-o', 'json', 'project', 'subscriptions', 'proj-w'])) as Sub[];
      expect(onlyW.map((s) => s.event_type).sort()).toEqual(['maintenance.host', 'maintenance.planned']);

      const table = await ok(w, ['project', 'subscriptions']);
      expect(table).toMatch(/^ID +PROJECT +EVENT +DELIVERY +FORMAT +SESSION$/m);
      expect(table).toMatch(new RegExp(`^\\S+ +proj-w +maintenance\\.planned +${url.replace(/\./g, '\\.')} +aodh +all$`, 'm'));
      expect(table).toMatch(/^\S+ +proj-f +maintenance\.planned +maintctl +fenix +all$/m);

      // Narrowed to one event type, then all the rest.
      expect(await ok(w, ['project', 'unsubscribe', 'proj-w', '--event', 'maintenance.host'])).toBe('removed 1 subscription of proj-w\n');
      expect(JSON.parse(await ok(w, ['-o', 'json', 'project', 'unsubscribe', 'proj-w']))).toEqual({ project_id: 'proj-w', removed: 1 });
      expect(await ok(w, ['project', 'unsubscribe', 'proj-w'])).toBe('removed 0 subscriptions of proj-w\n');
      expect(JSON.parse(await ok(w, ['-o', 'json', 'project', 'subscriptions', 'proj-w']))).toEqual([]);
      expect(await ok(w, ['project', 'subscriptions', 'proj-w'])).toBe('No subscriptions.\n');
      const left = JSON.parse(await ok(w, ['-o', 'json', 'project', 'subscriptions'])) as Sub[];
      expect(left.map((s) => s.project_id).sort()).toEqual(['proj-f', 'proj-j']);
    });

    it('refuses a bad --url, --event or --format with exit 2 and subscribes nothing', async () => {
      const w = await world();
      const cases: Array<[string[], RegExp]> = [
        [['--url', 'ftp://vnfm.example/x'], /^maintctl: invalid --url "ftp:\/\/vnfm\.example\/x": give an http or https URL/],
        [['--url', 'not a url'], /^maintctl: invalid --url "not a url"/],
        [['--event', 'maintenance.bogus'], /^maintctl: invalid --event "maintenance\.bogus": use one of maintenance\.planned, /],
        [['--url', 'http://vnfm.example/x', '--event', 'session'], /^maintctl: invalid --event "session"/],
        [['--format', 'xml'], /^maintctl: invalid --format "xml": use fenix or aodh\n$/],
      ];
      for (const [args, message] of cases) {
        const r = await w.run(['project', 'subscribe', 'proj-w', ...args]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(ONE_ERROR_LINE);
        expect(r.stderr).toMatch(message);
      }
      // Nothing was recorded: embedded, the state directory has no store at all; a server lists none.
      const listed = await w.run(['-o', 'json', 'project', 'subscriptions']);
      if (mode === 'embedded') expect(listed).toMatchObject({ code: 5, stdout: '' });
      else expect(JSON.parse(listed.stdout)).toEqual([]);
      const unsub = await w.run(['project', 'unsubscribe', 'proj-w', '--event', 'nope']);
      expect(unsub.code).toBe(2);
      expect(unsub.stderr).toMatch(/^maintctl: invalid --event "nope"/);
    });
  });
});
