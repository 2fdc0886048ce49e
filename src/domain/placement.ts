// Pure capacity decisions: where one instance goes, and room reserved for a whole wave of moves.

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


export interface Capacity {
  vcpus: number;
  /** Null when the infrastructure does not report memory for the host: memory is then not checked. */
  memoryMb: number | null;
}

export interface TargetHost {
  name: string;
  capacity: Capacity;
  /** What it holds now, room already reserved for moves heading there included. */
  used: { vcpus: number; memoryMb: number };
  /** Already maintained: instances placed here never have to move again. */
  maintained: boolean;
}

/** A rule beyond room on where an item may be placed; `place` records a placement and returns its undo. */
export interface PlacementRule {
  allows(itemId: string, host: string): boolean;
  place(itemId: string, host: string): () => void;
}

export interface Item {
  id: string;
  vcpus: number;
  memoryMb: number | null;
}

interface Room {
  host: TargetHost;
  vcpus: number;
  memoryMb: number;
}

/**
 * Free room on the hosts that may take instances, for planning a wave's moves as one
 * bin-packing: each placement reserves its room, so moves planned together never overbook a host.
 * Maintained hosts are filled first (an instance placed there moves once), then the tightest fit
 * (the host with least room left that still fits), which keeps other hosts' room in one piece.
 * Hosts are kept in buckets by free vCPUs, so a placement costs O(largest free room), not O(hosts).
 */
export class RoomPool {
  private readonly rooms = new Map<string, Room>();
  /** [maintained, other] -> free vCPUs -> host names. */
  private readonly buckets: [Array<Set<string>>, Array<Set<string>>] = [[], []];
  private readonly used = new Set<string>();

  /** `rule`: where each item may go beyond room (anti-affinity, members per host); none: anywhere with room. */
  constructor(
    hosts: Iterable<TargetHost>,
    private readonly rule: PlacementRule | null = null,
  ) {
    for (const host of hosts) {
      const vcpus = host.capacity.vcpus - host.used.vcpus;
      const memoryMb = host.capacity.memoryMb === null ? Number.POSITIVE_INFINITY : host.capacity.memoryMb - host.used.memoryMb;
      if (vcpus <= 0 || memoryMb <= 0) continue;
      const room = { host, vcpus, memoryMb };
      this.rooms.set(host.name, room);
      this.bucket(room).add(host.name);
    }
  }

  /** Hosts that received a reservation from this pool. */
  get reserved(): ReadonlySet<string> {
    return this.used;
  }

  /** Takes a host out of the pool (it is about to be emptied itself); returns a function that puts it back. */
  withdraw(name: string): () => void {
    const room = this.rooms.get(name);
    if (!room) return () => undefined;
    this.bucket(room).delete(name);
    this.rooms.delete(name);
    return () => {
      this.rooms.set(name, room);
      this.bucket(room).add(name);
    };
  }

  /** Places every item (largest first) or none: item id -> host name, or null when something does not fit. */
  placeAll(items: readonly Item[]): Map<string, string> | null {
    const placed = new Map<string, string>();
    const undo: Array<() => void> = [];
    const largestFirst = [...items].sort((a, b) => b.vcpus - a.vcpus || (b.memoryMb ?? 0) - (a.memoryMb ?? 0) || (a.id < b.id ? -1 : 1));
    for (const item of largestFirst) {
      const room = this.find(item);
      if (!room) {
        for (const u of undo.reverse()) u();
        return null;
      }
      undo.push(this.take(room, item));
      if (this.rule) undo.push(this.rule.place(item.id, room.host.name));
      placed.set(item.id, room.host.name);
    }
    for (const name of placed.values()) this.used.add(name);
    return placed;
  }

  private find(item: Item): Room | null {
    const memory = item.memoryMb ?? 0;
    for (const tier of this.buckets) {
      for (let free = Math.max(item.vcpus, 1); free < tier.length; free++) {
        for (const name of tier[free] ?? []) {
          const room = this.rooms.get(name)!;
          if (room.memoryMb >= memory && (!this.rule || this.rule.allows(item.id, name))) return room;
        }
      }
    }
    return null;
  }

  private take(room: Room, item: Item): () => void {
    const before = { vcpus: room.vcpus, memoryMb: room.memoryMb };
    this.bucket(room).delete(room.host.name);
    room.vcpus -= item.vcpus;
    room.memoryMb -= item.memoryMb ?? 0;
    this.bucket(room).add(room.host.name);
    return () => {
      this.bucket(room).delete(room.host.name);
      room.vcpus = before.vcpus;
      room.memoryMb = before.memoryMb;
      this.bucket(room).add(room.host.name);
    };
  }

  private bucket(room: Room): Set<string> {
    const tier = this.buckets[room.host.maintained ? 0 : 1];
    const free = Math.max(0, room.vcpus);
    let set = tier[free];
    if (!set) {
      for (let i = tier.length; i <= free; i++) tier[i] ??= new Set();
      set = tier[free]!;
    }
    return set;
  }
}
