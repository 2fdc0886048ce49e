// Drivers by kind. A session keeps its DriverSpec, so a restarted engine opens the same one.
// The OpenStack driver (and undici under it) is imported only when a session needs it: an engine
// running sim sessions, as the crash tests and rehearsals start dozens of times, never loads it.
import { InvalidInputError } from '../domain/errors.js';
import type { DriverSpec } from '../domain/model.js';
import type { DriverContext, InfraDriver } from './driver.js';
import { SimDriver } from './sim/driver.js';

export type DriverFactory = (spec: DriverSpec, ctx: DriverContext) => InfraDriver | Promise<InfraDriver>;

const FACTORIES: Record<string, DriverFactory> = {
  sim: (spec, ctx) => new SimDriver(ctx, String(spec.cloudId)),
  // Credentials are read when the driver opens (OS_* or clouds.yaml), never stored with the session.
  openstack: async (spec, ctx) => {
    const { OpenStackDriver } = await import('./openstack/driver.js');
    return new OpenStackDriver({ cloud: (spec.cloud as string | null) ?? null, clock: ctx.clock });
  },
};

export const openDriver: DriverFactory = (spec, ctx) => {
  const factory = FACTORIES[spec.kind];
  if (!factory) throw new InvalidInputError(`unknown infrastructure driver "${spec.kind}": known are ${Object.keys(FACTORIES).join(', ')}`);
  return factory(spec, ctx);
};
