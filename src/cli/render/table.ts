// Tables for people (cli-table3): borderless, aligned columns, bold headers when colour is on.
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';

export function table(c: ChalkInstance, head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({
    head: head.map((h) => c.bold(h)),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  t.push(...rows.map((r) => r.map(String)));
  return t
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}
