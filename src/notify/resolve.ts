// Every address a host name resolves to (for checking a webhook's host before subscribing it).
import { lookup } from 'node:dns/promises';

export async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}
