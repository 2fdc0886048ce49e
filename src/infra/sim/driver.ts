// The sim cloud behind the common driver interface.
import type { CompanionContext, DriverContext, InfraDriver, MoveRef, Observation } from '../driver.js';
import { SimCloud } from './sim-cloud.js';
import { startScriptedVnfms } from './vnfm.js';

export class SimDriver implements InfraDriver {
  readonly kind = 'sim';
  readonly cloud: SimCloud;

  constructor(
    private readonly ctx: DriverContext,
    cloudId: string,
  ) {
    this.cloud = new SimCloud(ctx.store, ctx.clock, cloudId);
  }

  async listHosts() {
    return this.cloud.hosts();
  }

  async listInstances() {
    return this.cloud.instances();
  }

  async disableHost(name: string, reason: string) {
    this.cloud.setEnabled(name, false, reason);
  }

  async enableHost(name: string) {
    this.cloud.setEnabled(name, true, null);
  }

  async requestMove(move: MoveRef) {
    this.cloud.requestMove(move.key, move.instanceId, move.kind);
  }

  async observeMove(move: MoveRef): Promise<Observation> {
    return this.cloud.observe(move.key);
  }

  async requestHostMaintenance(key: string, host: string) {
    this.cloud.requestHostMaintenance(key, host);
  }

  async observeHostMaintenance(key: string): Promise<Observation> {
    return this.cloud.observe(key);
  }

  answersFor(projectId: string): boolean {
    return this.cloud.projects().some((p) => p.id === projectId);
  }

  startCompanions(ctx: CompanionContext): () => void {
    return startScriptedVnfms(this.cloud, this.ctx.clock, ctx);
  }
}
