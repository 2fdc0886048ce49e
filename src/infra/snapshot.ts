// A copy of an infrastructure as a sim cloud file, for rehearsing a session before running it.
// It only reads (listHosts, listInstances): taking a copy never changes the infrastructure. What
// a cloud file cannot say as the infrastructure does (over-committed hosts, repeated instance
// names, a host disabled before, a server in ERROR) is adjusted or left out, and each such
// change is handed to `onNote`, so the caller can tell the operator how the copy differs.
import { InvalidInputError } from '../domain/errors.js';
import { cloudFileSchema, type CloudFile } from '../domain/schemas.js';
import { parseWith } from '../domain/validate.js';
import type { InfraDriver, InfraHost, InfraInstance } from './driver.js';

export interface SnapshotOptions {
  /** The hosts to copy (a session's hosts); absent or empty: every host the infrastructure has. */
  hosts?: string[];
  /** The copy's simulated durations; the cloud file's defaults for what is left out. */
  timing?: Partial<CloudFile['timing']>;
  /** Told every way the copy differs from the infrastructure. */
  onNote?: (note: SnapshotNote) => void;
}

export type SnapshotNote =
  /** Its instances use more vCPUs than it has: the copy's host has as many as they use. */
  | { kind: 'overcommitted'; host: string; vcpus: number; vcpusUsed: number; message: string }
  /** The same for memory (when memory is copied). */
  | { kind: 'memory_overcommitted'; host: string; memoryMb: number; memoryMbUsed: number; message: string }
  /** A name another instance has too (or an empty one): the copy's instance is named `as`. */
  | { kind: 'renamed'; instanceId: string; name: string; as: string; message: string }
  /** Disabled for scheduling in the infrastructure; a cloud file has no way to say so. */
  | { kind: 'disabled_before'; host: string; reason: string | null; message: string }
  /** Not ACTIVE in the infrastructure (ERROR, MIGRATING, ...); the copy's instance starts ACTIVE. */
  | { kind: 'not_active'; instanceId: string; name: string; status: string; message: string }
  /** The infrastructure gave no vCPU figure; the copy counts one. */
  | { kind: 'vcpus_assumed'; instanceId: string; name: string; message: string }
  /** Something the copy could not carry at all. */
  | { kind: 'left_out'; subject: string; message: string };

type HostDoc = { name: string; type: InfraHost['type']; vcpus: number; memory_mb?: number };
type InstanceDoc = { id: string; name: string; project: string; host: string; vcpus: number; memory_mb?: number; floating_ip: boolean };

/**
 * Reads the infrastructure (only the hosts asked, and the instances on them) and returns it as a
 * cloud file that cloudFileSchema accepts. No project is scripted: who answers for each project
 * in the rehearsal is the caller's choice.
 */
export async function snapshotInfrastructure(driver: InfraDriver, options: SnapshotOptions = {}): Promise<CloudFile> {
  const note = options.onNote ?? (() => {});
  const asked = options.hosts?.length ? [...new Set(options.hosts)] : null;
  const scope = asked ? { hosts: asked } : undefined;
  const [infraHosts, infraInstances] = await Promise.all([driver.listHosts(scope), driver.listInstances(scope)]);

  if (asked) {
    const missing = asked.filter((name) => !infraHosts.some((h) => h.name === name));
    if (missing.length) {
      throw new InvalidInputError(`the ${driver.kind} infrastructure has no host named ${missing.map((m) => `"${m}"`).join(', ')}`);
    }
  }

  const hosts = new Map<string, HostDoc>();
  for (const h of infraHosts) {
    if (asked && !asked.includes(h.name)) continue;
    if (hosts.has(h.name)) {
      note({ kind: 'left_out', subject: h.name, message: `host ${h.name} was listed twice; the copy has it once` });
      continue;
    }
    const doc: HostDoc = { name: h.name, type: h.type, vcpus: wholeAtLeast(h.vcpus, 0) };
    if (h.memoryMb !== null) doc.memory_mb = wholeAtLeast(h.memoryMb, 0);
    hosts.set(h.name, doc);
    if (!h.enabled) {
      note({
        kind: 'disabled_before',
        host: h.name,
        reason: h.disabledReason,
        message: `host ${h.name} is disabled in the infrastructure${h.disabledReason ? ` (${h.disabledReason})` : ''}; the copy cannot say so and has it enabled`,
      });
    }
  }
  if (hosts.size === 0) throw new InvalidInputError(`the ${driver.kind} infrastructure reports no hosts: there is nothing to copy`);

  const instances: InstanceDoc[] = [];
  const ids = new Set<string>();
  for (const i of infraInstances) {
    const host = hosts.get(i.host);
    const skip = !host
      ? `it is on ${i.host}, which the copy does not have`
      : host.type !== 'compute'
        ? `it is on ${i.host}, a ${host.type} (a cloud file runs instances on computes only)`
        : ids.has(i.id)
          ? 'it was listed twice'
          : !i.projectId.trim()
            ? 'it has no project'
            : null;
    if (skip) {
      note({ kind: 'left_out', subject: i.id, message: `instance ${i.name} (${i.id}) is left out: ${skip}` });
      continue;
    }
    ids.add(i.id);
    if (i.status !== 'ACTIVE') {
      note({
        kind: 'not_active',
        instanceId: i.id,
        name: i.name,
        status: i.status,
        message: `instance ${i.name} (${i.id}) is ${i.status} in the infrastructure${i.fault ? ` (${i.fault})` : ''}; the copy has it ACTIVE`,
      });
    }
    if (!(i.vcpus >= 1)) {
      note({ kind: 'vcpus_assumed', instanceId: i.id, name: i.name, message: `instance ${i.name} (${i.id}) has no vCPU figure; the copy counts 1` });
    }
    const doc: InstanceDoc = {
      id: i.id,
      name: i.name.trim(),
      project: i.projectId.trim(),
      host: i.host,
      vcpus: wholeAtLeast(i.vcpus, 1),
      floating_ip: i.floatingIp,
    };
    if (i.memoryMb !== null) doc.memory_mb = wholeAtLeast(i.memoryMb, 0);
    instances.push(doc);
  }

  renameDuplicates(instances, infraInstances, note);
  raiseOvercommitted(hosts, instances, infraHosts, note);

  return parseWith(
    cloudFileSchema,
    { hosts: [...hosts.values()], instances, projects: [], ...(options.timing ? { timing: options.timing } : {}) },
    `copy of the ${driver.kind} infrastructure`,
  );
}

/** A figure as a whole number, at least `min` (a missing or odd figure becomes `min`). */
function wholeAtLeast(value: number, min: number): number {
  return Number.isFinite(value) ? Math.max(min, Math.ceil(value)) : min;
}

/**
 * Names must be unique in a cloud file. In each group of instances sharing a name, the one with
 * the smallest id keeps it and the others get `~` and the start of their id, so the names depend
 * on the set of instances only, not on the order the infrastructure listed them in.
 */
function renameDuplicates(instances: InstanceDoc[], infra: InfraInstance[], note: (n: SnapshotNote) => void): void {
  const groups = new Map<string, InstanceDoc[]>();
  for (const doc of instances) groups.set(doc.name, [...(groups.get(doc.name) ?? []), doc]);
  const taken = new Set(instances.map((doc) => doc.name).filter(Boolean));
  const renamed: Array<[InstanceDoc, string]> = [];
  for (const [name, group] of [...groups].sort(([a], [b]) => compare(a, b))) {
    group.sort((a, b) => compare(a.id, b.id));
    const keep = name ? 1 : 0;
    for (const doc of group.slice(keep)) {
      const base = name || 'instance';
      let candidate = `${base}~${doc.id.slice(0, 8)}`;
      if (taken.has(candidate)) candidate = `${base}~${doc.id}`;
      for (let n = 2; taken.has(candidate); n++) candidate = `${base}~${doc.id}~${n}`;
      taken.add(candidate);
      renamed.push([doc, candidate]);
    }
  }
  for (const [doc, as] of renamed) {
    const original = infra.find((i) => i.id === doc.id)?.name ?? doc.name;
    const why = doc.name ? 'another instance has the same name' : 'it has no name';
    doc.name = as;
    note({ kind: 'renamed', instanceId: doc.id, name: original, as, message: `instance ${doc.id} "${original}" is "${as}" in the copy: ${why}` });
  }
}

/** A compute whose instances use more than it has gets what they use (a cloud file refuses over-commitment). */
function raiseOvercommitted(hosts: Map<string, HostDoc>, instances: InstanceDoc[], infra: InfraHost[], note: (n: SnapshotNote) => void): void {
  for (const host of hosts.values()) {
    const here = instances.filter((i) => i.host === host.name);
    const vcpus = here.reduce((sum, i) => sum + i.vcpus, 0);
    if (vcpus > host.vcpus) {
      note({
        kind: 'overcommitted',
        host: host.name,
        vcpus: host.vcpus,
        vcpusUsed: vcpus,
        message: `host ${host.name} has ${host.vcpus} vCPUs and its instances use ${vcpus}; the copy gives it ${vcpus}`,
      });
      host.vcpus = vcpus;
    }
    if (host.memory_mb === undefined) continue;
    const memoryMb = here.reduce((sum, i) => sum + (i.memory_mb ?? 0), 0);
    if (memoryMb > host.memory_mb) {
      const real = infra.find((h) => h.name === host.name)?.memoryMb ?? host.memory_mb;
      note({
        kind: 'memory_overcommitted',
        host: host.name,
        memoryMb: real,
        memoryMbUsed: memoryMb,
        message: `host ${host.name} has ${real} MiB and its instances' flavors use ${memoryMb}; the copy gives it ${memoryMb}`,
      });
      host.memory_mb = memoryMb;
    }
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
