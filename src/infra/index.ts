// Drivers by kind. A session keeps its DriverSpec, so a restarted engine opens the same one.
import { InvalidInputError } from '../domain/errors.js';
import type { DriverSpec } from '../domain/model.js';
import type { DriverContext, InfraDriver } from './driver.js';
import { OpenStackDriver } from './openstack/driver.js';
import { SimDriver } from './sim/driver.js';

export type DriverFactory = (spec: DriverSpec, ctx: DriverContext) => InfraDriver;

const FACTORIES: Record<string, DriverFactory> = {
  sim: (spec, ctx) => new SimDriver(ctx, String(spec.cloudId)),
  // Credentials are read when the driver opens (OS_* or clouds.yaml), never stored with the session.
  openstack: (spec, ctx) => new OpenStackDriver({ cloud: (spec.cloud as string | null) ?? null, clock: ctx.clock }),
};

export const openDriver: DriverFactory = (spec, ctx) => {
  const factory = FACTORIES[spec.kind];
  if (!factory) throw new InvalidInputError(`unknown infrastructure driver "${spec.kind}": known are ${Object.keys(FACTORIES).join(', ')}`);
  return factory(spec, ctx);
};
