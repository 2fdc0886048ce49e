// Drivers by kind. A session keeps its DriverSpec, so a restarted engine opens the same one.
import { InvalidInputError } from '../domain/errors.js';
import type { DriverSpec } from '../domain/model.js';
import type { DriverContext, InfraDriver } from './driver.js';
import { SimDriver } from './sim/driver.js';

export type DriverFactory = (spec: DriverSpec, ctx: DriverContext) => InfraDriver;

const FACTORIES: Record<string, DriverFactory> = {
  sim: (spec, ctx) => new SimDriver(ctx, String(spec.cloudId)),
};

export const openDriver: DriverFactory = (spec, ctx) => {
  const factory = FACTORIES[spec.kind];
  if (!factory) throw new InvalidInputError(`unknown infrastructure driver "${spec.kind}": known are ${Object.keys(FACTORIES).join(', ')}`);
  return factory(spec, ctx);
};
