// Tables of releases, clusters and notifications (their -o json documents are release-view.ts's).
import type { ClusterDocument, NotificationDocument, ReleaseDocument } from '../../engine/release-view.js';
import type { IO } from '../io.js';
import { styleFor } from './style.js';
import { table } from './table.js';

export function releaseTable(io: IO, releases: ReleaseDocument[]): string {
  if (!releases.length) return 'No releases: add one with maintctl release add NAME --version V.';
  return table(
    styleFor(io),
    ['NAME', 'VERSION', 'UPDATES FROM', 'COMPATIBLE WITH', 'REPO SOURCE'],
    releases.map((r) => [r.name, r.version, r.can_update_from.join(',') || '-', r.compatible_with ?? 'any', r.repo_source ?? '-']),
  );
}

export function releaseView(io: IO, r: ReleaseDocument): string {
  const metadata = Object.entries(r.metadata).map(([k, v]) => `${k}=${v}`);
  return [releaseTable(io, [r]), ...(metadata.length ? ['', `metadata: ${metadata.join(', ')}`] : [])].join('\n');
}

export function clusterTable(io: IO, clusters: ClusterDocument[]): string {
  if (!clusters.length) return 'No clusters: create one with maintctl cluster create NAME --release R --hosts a,b.';
  return table(
    styleFor(io),
    ['NAME', 'STATUS', 'CURRENT', 'PENDING', 'HOSTS', 'SESSION'],
    clusters.map((c) => [c.name, c.status, c.current_release, c.pending_release ?? '-', c.hosts.length, c.session_id ?? '-']),
  );
}

export function clusterView(io: IO, c: ClusterDocument): string {
  const hosts = table(styleFor(io), ['HOST', 'RELEASE'], c.hosts.map((h) => [h.host, h.release]));
  const operation = c.session_id ? `latest operation: ${c.operation ?? 'maintenance'} (session ${c.session_id})` : 'no operation yet';
  return [clusterTable(io, [c]), '', operation, ...(c.cloud ? [`cloud: ${c.cloud}`] : []), '', hosts].join('\n');
}

export function notificationLines(io: IO, notes: NotificationDocument[], header = true): string {
  const rows = notes.map((n) => [String(n.time), String(n.topic), String(n.cluster ?? '-'), String(n.host ?? '-'), String(n.message)]);
  if (!header) return rows.map((r) => r.join('  ')).join('\n');
  if (!notes.length) return 'No notifications.';
  return table(styleFor(io), ['TIME', 'TOPIC', 'CLUSTER', 'HOST', 'MESSAGE'], rows);
}
