// Several `maintctl serve` replicas (child processes of the built CLI) on one PostgreSQL store and
// one state directory (their sim clouds), behind a balancer, with short leases: what the
// failover and fencing tests and bench/failover.mjs drive.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBalancer, type Balancer } from './balancer.js';
import { spawnServe, tempDir, type ServeProcess } from './serve.js';
import { jsonCall } from './vnfm.js';

/** A sim cloud per session: three computes, three instances of two projects; steps take a while. */
export const REPLICA_CLOUD = `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-2, vcpus: 1}
timing: {migrate_s: 0.3, live_migrate_s: 0.3, host_maintenance_s: 0.5}
`;

export interface Replica {
  process: ServeProcess;
  /** Its id in leases (printed at start). */
  id: string;
  pid: number;
  url: string;
}

export interface Cluster {
  balancer: Balancer;
  stateDir: string;
  storeUrl: string;
  clouds: string[];
  replicas: Replica[];
  /** Every replica started, killed ones included (what each printed tells who wrote what). */
  started: Replica[];
  /** Starts one more replica and puts it behind the balancer. */
  add(): Promise<Replica>;
  /** Kills a replica with SIGKILL, waits for it to be gone and takes it from the balancer. */
  kill(replica: Replica): Promise<void>;
  /** The replica holding a session's lease now (GET /v1/replicas through the balancer), if one of ours. */
  holder(sessionId: string): Promise<Replica | null>;
  stop(): Promise<void>;
}

export async function startCluster(storeUrl: string, options: { replicas: number; clouds: number; leaseTime: string }): Promise<Cluster> {
  const stateDir = tempDir('maintctl-replicas-');
  const clouds = Array.from({ length: options.clouds }, (_, i) => `c${i}`);
  for (const name of clouds) writeFileSync(join(stateDir, `${name}.yaml`), REPLICA_CLOUD);
  const balancer = await startBalancer();
  const replicas: Replica[] = [];
  const started: Replica[] = [];
  const sync = () => (balancer.backends = replicas.map((r) => r.url));
  const args = [
    '--store', storeUrl, '--lease-time', options.leaseTime, '--public-url', balancer.url, '--allow-webhook-host', '127.0.0.1',
    ...clouds.flatMap((name) => ['--cloud', `${name}=${join(stateDir, `${name}.yaml`)}`]),
  ];
  const add = async () => {
    const serveProcess = await spawnServe(stateDir, args);
    const line = await serveProcess.printed(/as replica (\S+?)\)/);
    const replica = { process: serveProcess, id: /as replica (\S+?)\)/.exec(line)![1]!, pid: serveProcess.child.pid!, url: serveProcess.url };
    replicas.push(replica);
    started.push(replica);
    sync();
    return replica;
  };
  for (let i = 0; i < options.replicas; i++) await add();
  return {
    balancer,
    stateDir,
    storeUrl,
    clouds,
    replicas,
    started,
    add,
    async kill(replica) {
      replicas.splice(replicas.indexOf(replica), 1);
      sync();
      replica.process.child.kill('SIGKILL');
      await replica.process.exited;
    },
    async holder(sessionId) {
      const { body } = await jsonCall('GET', `${balancer.url}/v1/replicas`);
      const held = (body.replicas as Array<{ replica_id: string; sessions: string[] }>).find((r) => r.sessions.includes(sessionId));
      return replicas.find((r) => r.id === held?.replica_id) ?? null;
    },
    async stop() {
      const stuck: string[] = [];
      for (const r of [...replicas]) {
        r.process.child.kill('SIGTERM');
        // A replica must stop on SIGTERM; one that does not is killed, and said so.
        const timer = setTimeout(() => (stuck.push(r.id), r.process.child.kill('SIGKILL')), 30_000);
        await r.process.exited;
        clearTimeout(timer);
      }
      await balancer.close();
      if (stuck.length) throw new Error(`replicas ${stuck.join(', ')} did not stop on SIGTERM within 30 s`);
    },
  };
}

/** Waits (a guard loop on a condition, polled as a client would) until `check` gives a value. */
export async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, guardMs = 240_000): Promise<T> {
  const { setTimeout } = await import('node:timers/promises');
  const deadline = Date.now() + guardMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await setTimeout(50); // a client's poll interval, not a wait for the server
  }
}
