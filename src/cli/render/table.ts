// Tables for people: borderless, columns aligned and two spaces apart, bold headers when colour
// is on. Written here rather than with a table library: `session list` of a thousand sessions
// must not spend its start-up laying out boxes it never draws.
import type { ChalkInstance } from 'chalk';

/** What a cell takes on screen: its characters, less colour escapes, wide (East Asian) ones twice. */
export function visibleWidth(text: string): number {
  let width = 0;
  for (const ch of text.replace(/\x1b\[[0-9;]*m/g, '')) width += WIDE.test(ch) ? 2 : 1;
  return width;
}

const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u;

export function table(c: ChalkInstance, head: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map(String));
  const widths = head.map((h, i) => Math.max(visibleWidth(h), ...cells.map((r) => visibleWidth(r[i] ?? ''))));
  const line = (parts: string[]) => parts.map((p, i) => p + ' '.repeat(widths[i]! - visibleWidth(p))).join('  ').trimEnd();
  return [line(head.map((h) => c.bold(h))), ...cells.map(line)].join('\n');
}
