// Webhook URLs as the user sees them and as the server accepts them: credentials never shown;
// link-local and cloud metadata addresses refused (a webhook must not become a way to read the
// instance metadata service from the machine running maintctl) unless explicitly allowed.
import { isIP } from 'node:net';
import { InvalidInputError } from './errors.js';

/** The URL with its user:password@ replaced by ***@, for output and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@');
}

/** Host names of metadata services that are not IP literals. */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** Addresses no webhook should reach: link-local (v4 and v6), the metadata services, "any". */
export function forbiddenAddress(address: string): string | null {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(address);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (a === 169 && b === 254) return 'a link-local address (169.254.0.0/16, where cloud metadata services answer)';
    if (a === 0) return 'the "this host" address 0.0.0.0/8';
    if (address.endsWith('100.100.100.200')) return 'a cloud metadata address';
    return null;
  }
  const v6 = address.toLowerCase();
  if (/^fe[89ab][0-9a-f]:/.test(v6)) return 'a link-local address (fe80::/10)';
  if (v6 === '::' || v6 === 'fd00:ec2::254') return v6 === '::' ? 'the unspecified address ::' : 'a cloud metadata address';
  return null;
}

/** Why the URL's host is refused as a webhook target, or null. */
export function forbiddenHost(hostname: string): string | null {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host)) return forbiddenAddress(host);
  return METADATA_NAMES.has(host.replace(/\.$/, '')) ? 'a cloud metadata service name' : null;
}

/**
 * An http(s) webhook URL whose host (literal, or every address it resolves to) is allowed;
 * `allowHosts` (--allow-webhook-host) lets named hosts through whatever they are.
 */
export async function checkWebhookUrl(url: string, allowHosts: readonly string[], resolve: (host: string) => Promise<string[]>): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`invalid webhook URL "${redactUrl(url)}": give an http or https URL, e.g. http://vnfm.example:8080/maintenance`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidInputError(`invalid webhook URL "${redactUrl(url)}": give an http or https URL, e.g. http://vnfm.example:8080/maintenance`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (allowHosts.map((h) => h.toLowerCase()).includes(host)) return url;
  const refuse = (why: string) =>
    new InvalidInputError(`refusing webhook host ${host}: it is ${why}; if it really is your VNFM, allow it with --allow-webhook-host ${host}`);
  const direct = forbiddenHost(host);
  if (direct) throw refuse(direct);
  if (isIP(host)) return url;
  let addresses: string[] = [];
  try {
    addresses = await resolve(host);
  } catch {
    return url; // not resolvable now: delivery retries, and says so
  }
  for (const address of addresses) {
    const why = forbiddenAddress(address);
    if (why) throw refuse(`resolved to ${address}, ${why}`);
  }
  return url;
}
