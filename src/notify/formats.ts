// What a webhook receives. `fenix`: the oslo-style envelope Fenix sends. `aodh`: the body of an
// AODH event alarm, the way VNFMs written for Fenix + AODH receive it, payload fields as traits.
import { createRequire } from 'node:module';
import type { SessionEvent, SubscriptionFormat } from '../domain/model.js';
import { envelope, type Envelope } from '../domain/notifications.js';

export function fenixBody(event: SessionEvent): Envelope {
  return envelope(event.eventType, event.time, event.payload, event.messageId);
}

/** AODH trait types. */
const TRAIT = { text: 1, int: 2, float: 3, datetime: 4 } as const;

export type Trait = [name: string, type: number, value: string | number | null];

/** Payload times Ceilometer's event definitions declare as datetime traits. */
const DATETIME_TRAITS = new Set(['reply_at', 'actions_at']);

/** A payload time (Fenix's "YYYY-MM-DD HH:MM:SS", UTC) as ISO 8601, the way `generated` is written; null when it is not one. */
function isoTime(text: string): string | null {
  const ms = Date.parse(`${text.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().replace('Z', '');
}

export function toTraits(payload: Record<string, unknown>): Trait[] {
  return Object.entries(payload).map(([name, value]): Trait => {
    if (value === null || value === undefined) return [name, TRAIT.text, null];
    const iso = typeof value === 'string' && DATETIME_TRAITS.has(name) ? isoTime(value) : null;
    if (iso !== null) return [name, TRAIT.datetime, iso];
    if (typeof value === 'number') return [name, Number.isInteger(value) ? TRAIT.int : TRAIT.float, value];
    // Text holding [ or { is sent quoted, so decoders that parse such text give the text back.
    if (typeof value === 'string') return [name, TRAIT.text, /[[{]/.test(value) ? JSON.stringify(value) : value];
    // Lists and dicts travel as text; Fenix-era decoders parse text holding [ or { back.
    return [name, TRAIT.text, JSON.stringify(value)];
  });
}

export interface AodhAlarmBody {
  alarm_id: string;
  alarm_name: string;
  severity: string;
  previous: string;
  current: string;
  reason: string;
  reason_data: {
    type: 'event';
    event: { message_id: string; event_type: string; generated: string; traits: Trait[]; raw: Record<string, never>; message_signature: string };
  };
}

export function aodhBody(event: SessionEvent, subscriptionId: number, projectId: string): AodhAlarmBody {
  return {
    alarm_id: `maintctl-subscription-${subscriptionId}`,
    alarm_name: `${projectId}_${event.eventType}`,
    severity: 'moderate',
    previous: 'insufficient data',
    current: 'alarm',
    reason: `Event <id=${event.messageId},event_type=${event.eventType}> hits the query <event_type == ${event.eventType}>.`,
    reason_data: {
      type: 'event',
      event: {
        message_id: event.messageId,
        event_type: event.eventType,
        generated: new Date(event.time).toISOString().replace('Z', ''),
        traits: toTraits(event.payload),
        raw: {},
        message_signature: '',
      },
    },
  };
}

/** The yaml package, loaded only to read an alarm back (the engine that sends alarms never does). */
const require = createRequire(import.meta.url);
const yaml = () => require('yaml') as typeof import('yaml');

/** How VNFMs written for Fenix + AODH read an alarm: traits to a dict, text with [ or { parsed. */
export function payloadFromAodh(body: AodhAlarmBody): Record<string, unknown> {
  return Object.fromEntries(
    body.reason_data.event.traits.map(([name, , value]) => [
      name,
      typeof value === 'string' && (value.includes('[') || value.includes('{')) ? yaml().parse(value) : value,
    ]),
  );
}

export function webhookBody(event: SessionEvent, format: SubscriptionFormat, subscriptionId: number, projectId: string): unknown {
  return format === 'aodh' ? aodhBody(event, subscriptionId, projectId) : fenixBody(event);
}
