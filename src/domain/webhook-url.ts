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

/** The host of a webhook URL as it is checked and allowed: lower case, without IPv6 brackets. */
export const webhookHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

/** The host of the URL if `allowHosts` (--allow-webhook-host) names it: what a subscription keeps as allowed. */
export function allowedWebhookHost(url: string, allowHosts: readonly string[]): string | null {
  let host: string;
  try {
    host = webhookHost(new URL(url));
  } catch {
    return null;
  }
  return allowHosts.map((h) => h.toLowerCase()).includes(host) ? host : null;
}

export interface HostVerdict {
  /** Why the host is refused ("it is ..."), or null. */
  refused: string | null;
  /** The addresses the host name resolved to and was judged by (none for an IP literal, an allowed host, or a name that did not resolve). */
  addresses: string[];
}

/**
 * Judges a webhook host: allowed ones pass whatever they are; an IP literal or a metadata name by
 * itself; any other name by every address it resolves to now (a name that does not resolve
 * passes: delivering to it fails, and says so).
 */
export async function judgeWebhookHost(host: string, allowHosts: readonly string[], resolve: (host: string) => Promise<string[]>): Promise<HostVerdict> {
  if (allowHosts.map((h) => h.toLowerCase()).includes(host)) return { refused: null, addresses: [] };
  const direct = forbiddenHost(host);
  if (direct || isIP(host)) return { refused: direct, addresses: [] };
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return { refused: null, addresses: [] };
  }
  for (const address of addresses) {
    const why = forbiddenAddress(address);
    if (why) return { refused: `resolved to ${address}, ${why}`, addresses };
  }
  return { refused: null, addresses };
}

/** The sentence refusing a host, with the flag that lets it through. */
export const refusalOf = (host: string, why: string) =>
  `refusing webhook host ${host}: it is ${why}; if it really is your VNFM, allow it with --allow-webhook-host ${host}`;

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
  const host = webhookHost(parsed);
  const { refused } = await judgeWebhookHost(host, allowHosts, resolve);
  if (refused) throw new InvalidInputError(refusalOf(host, refused));
  return url;
}
