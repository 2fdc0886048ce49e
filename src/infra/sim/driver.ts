// The sim cloud behind the common driver interface.
import type { CompanionContext, DriverContext, HostScope, ImmediateCalls, InfraDriver, MoveRef, Observation } from '../driver.js';
import { SimCloud } from './sim-cloud.js';
import { startScriptedVnfms } from './vnfm.js';

export class SimDriver implements InfraDriver {
  readonly kind = 'sim';
  readonly identity: string;

  constructor(
    private readonly ctx: DriverContext,
    private readonly cloudId: string,
  ) {
    SimCloud.open(ctx.store, ctx.clock, cloudId); // fails now if the cloud is not in the store
    this.identity = `sim:${cloudId}`;
  }

  /** Shared with every other user of this cloud in the process (the harness, the VNFMs); read afresh when another process wrote. */
  get cloud(): SimCloud {
    return SimCloud.open(this.ctx.store, this.ctx.clock, this.cloudId);
  }

  /** Every call goes through here: it runs again should another process have changed the cloud meanwhile. */
  private use<T>(fn: (cloud: SimCloud) => T): T {
    return SimCloud.using(this.ctx.store, this.ctx.clock, this.cloudId, fn);
  }

  async listHosts(scope?: HostScope) {
    return this.use((c) => c.hosts(scope));
  }

  async listInstances(scope?: HostScope) {
    return this.use((c) => c.instances(scope));
  }

  /** The sim answers in the caller's turn: the runner calls these, the async ones below are for everyone else. */
  readonly immediate: ImmediateCalls = {
    disableHost: (name, reason) => this.use((c) => c.setEnabled(name, false, reason)),
    enableHost: (name) => this.use((c) => c.setEnabled(name, true, null)),
    requestMove: (move) =>
      this.use((c) => {
        c.requestMove(move.key, move.instanceId, move.kind, move.to);
        return c.accepted(move.key);
      }),
    observeMove: (move) => this.use((c) => c.observe(move.key)),
    requestHostMaintenance: (key, host) =>
      this.use((c) => {
        c.requestHostMaintenance(key, host);
        return c.accepted(key);
      }),
    observeHostMaintenance: (key) => this.use((c) => c.observe(key)),
  };

  async disableHost(name: string, reason: string) {
    this.immediate.disableHost(name, reason);
  }

  async enableHost(name: string) {
    this.immediate.enableHost(name);
  }

  async requestMove(move: MoveRef) {
    return this.immediate.requestMove(move);
  }

  async observeMove(move: MoveRef): Promise<Observation> {
    return this.immediate.observeMove(move);
  }

  async requestHostMaintenance(key: string, host: string) {
    return this.immediate.requestHostMaintenance(key, host);
  }

  async observeHostMaintenance(key: string): Promise<Observation> {
    return this.use((c) => c.observe(key));
  }

  /** The sim's own timing: a move takes exactly that long. */
  moveEstimate(kind: 'MIGRATE' | 'LIVE_MIGRATE'): number {
    const timing = this.use((c) => c.timing);
    return kind === 'LIVE_MIGRATE' ? timing.live_migrate_s : timing.migrate_s;
  }

  answersFor(projectId: string): boolean {
    return this.use((c) => c.project(projectId) !== null);
  }

  startCompanions(ctx: CompanionContext): () => void {
    return startScriptedVnfms((fn) => this.use(fn), this.ctx.clock, ctx);
  }
}
