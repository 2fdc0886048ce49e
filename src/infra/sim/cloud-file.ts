// Reads a sim cloud file (YAML or JSON) and turns it into simulated-cloud rows in the store.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InvalidInputError } from '../../domain/errors.js';
import { cloudFileSchema, type CloudFile } from '../../domain/schemas.js';
import { parseWith } from '../../domain/validate.js';
import type { Store } from '../../store/store.js';

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
  const cloudId = randomUUID();
  const db = store.db;
  store.tx(() => {
    db.prepare('INSERT INTO sim_clouds (id, name, timing, faults, created_at) VALUES (?, ?, ?, ?, ?)').run(
      cloudId, name, JSON.stringify(cloud.timing), JSON.stringify(cloud.faults), now,
    );
    const host = db.prepare('INSERT INTO sim_hosts (cloud_id, name, type, vcpus) VALUES (?, ?, ?, ?)');
    for (const h of cloud.hosts) host.run(cloudId, h.name, h.type, h.vcpus);
    const inst = db.prepare(
      "INSERT INTO sim_instances (cloud_id, id, name, project_id, host, vcpus, floating_ip, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'ACTIVE')",
    );
    for (const i of cloud.instances) inst.run(cloudId, i.id ?? randomUUID(), i.name, i.project, i.host, i.vcpus, i.floating_ip ? 1 : 0);
    const project = db.prepare(
      'INSERT INTO sim_projects (cloud_id, id, auto_reply, action, scale_in, reply_delay_s) VALUES (?, ?, ?, ?, ?, ?)',
    );
    // A project that only appears on instances has no scripted VNFM: nobody answers for it
    // unless it subscribes (project agent, project reply, a webhook).
    for (const p of cloud.projects) project.run(cloudId, p.id, p.auto_reply, p.action, p.scale_in, p.reply_delay_s);
  });
  return cloudId;
}

/** Removes a simulated cloud and everything in it (used to undo an import when a session is refused). */
export function removeCloud(store: Store, cloudId: string): void {
  store.tx(() => store.db.prepare('DELETE FROM sim_clouds WHERE id = ?').run(cloudId));
}
