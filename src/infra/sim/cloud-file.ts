// Reads a sim cloud file (YAML or JSON) and stores it as a simulated cloud (through SimStore).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InvalidInputError } from '../../domain/errors.js';
import { cloudFileSchema, type CloudFile } from '../../domain/schemas.js';
import { parseWith } from '../../domain/validate.js';
import { SimStore } from '../../store/sim-store.js';
import type { Store } from '../../store/store.js';
import { SimCloud } from './sim-cloud.js';

export function parseCloudText(text: string, source: string): CloudFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new InvalidInputError(`cloud file ${source} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (raw === null || raw === undefined) throw new InvalidInputError(`cloud file ${source} is empty: it needs at least a hosts list`);
  return parseWith(cloudFileSchema, raw, `cloud file ${source}`);
}

export function readCloudFile(path: string): CloudFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidInputError(
      code === 'ENOENT' ? `cloud file ${path} does not exist` : `cannot read cloud file ${path}: ${(err as Error).message}`,
    );
  }
  return parseCloudText(text, path);
}

/** Stores a new simulated cloud built from the file; returns its id. */
export function importCloud(store: Store, cloud: CloudFile, name: string, now: number): string {
  return new SimStore(store).importCloud(cloud, name, now);
}

/** Removes a simulated cloud and everything in it (used to undo an import when a session is refused). */
export function removeCloud(store: Store, cloudId: string): void {
  new SimStore(store).removeCloud(cloudId);
  SimCloud.forget(store, cloudId);
}
