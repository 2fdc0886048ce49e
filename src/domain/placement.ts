// Pure capacity decisions: which host to empty, whether its instances fit elsewhere, where one goes.

export interface CapacityHost {
  name: string;
  vcpus: number;
  vcpusUsed: number;
  /** The scheduler may place instances here (enabled, not the host being emptied). */
  acceptsInstances: boolean;
  /** Already maintained: instances moving now should land here first. */
  maintained: boolean;
}

export interface Sized {
  id: string;
  vcpus: number;
}

export function freeVcpus(host: CapacityHost): number {
  return Math.max(0, host.vcpus - host.vcpusUsed);
}

/**
 * First-fit decreasing: places every item on a host with room, largest items first, onto the
 * hosts with most room first. Returns item id -> host name, or null when something does not fit.
 */
export function fitInstances(items: readonly Sized[], hosts: readonly CapacityHost[]): Map<string, string> | null {
  const room = new Map(hosts.filter((h) => h.acceptsInstances).map((h) => [h.name, freeVcpus(h)]));
  const placed = new Map<string, string>();
  const largestFirst = [...items].sort((a, b) => b.vcpus - a.vcpus || a.id.localeCompare(b.id));
  for (const item of largestFirst) {
    const target = [...room.entries()]
      .filter(([, free]) => free >= item.vcpus)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    if (!target) return null;
    placed.set(item.id, target[0]);
    room.set(target[0], target[1] - item.vcpus);
  }
  return placed;
}

/** Where the scheduler puts one instance: a host with room, maintained ones first, then most free. */
export function chooseTarget(vcpus: number, hosts: readonly CapacityHost[]): string | null {
  const candidates = hosts
    .filter((h) => h.acceptsInstances && freeVcpus(h) >= vcpus)
    .sort(
      (a, b) =>
        Number(b.maintained) - Number(a.maintained) || freeVcpus(b) - freeVcpus(a) || a.name.localeCompare(b.name),
    );
  return candidates[0]?.name ?? null;
}

export interface EmptyCandidate {
  host: CapacityHost;
  instances: ReadonlyArray<Sized & { floatingIp: boolean }>;
}

export interface EmptyChoice {
  host: string;
  /** Where each instance would go; proof that the host really can be emptied. */
  plan: Map<string, string>;
}

/**
 * Chooses the host to empty as Fenix does (no floating-IP instances, most free vCPUs, fewest
 * instances), and unlike Fenix checks that its instances really fit on the other hosts.
 * Hosts with floating-IP instances are taken only when no other host can be emptied.
 */
export function chooseHostToEmpty(candidates: readonly EmptyCandidate[], all: readonly CapacityHost[]): EmptyChoice | null {
  const hasFip = (c: EmptyCandidate) => c.instances.some((i) => i.floatingIp);
  const ordered = [...candidates].sort(
    (a, b) =>
      Number(hasFip(a)) - Number(hasFip(b)) ||
      freeVcpus(b.host) - freeVcpus(a.host) ||
      a.instances.length - b.instances.length ||
      a.host.name.localeCompare(b.host.name),
  );
  for (const candidate of ordered) {
    const others = all.filter((h) => h.name !== candidate.host.name);
    const plan = fitInstances(candidate.instances, others);
    if (plan) return { host: candidate.host.name, plan };
  }
  return null;
}
