// Printing helpers shared by the benchmarks (no maintctl code here: that is support.mjs).
import { availableParallelism } from 'node:os';

/**
 * Prints rows as an aligned table. columns: [{ title, value(row) -> string|number, left? }];
 * a row may instead be { note: '...' }: printed after its first cell, across the other columns.
 */
export function printTable(columns, rows) {
  const cells = rows.map((row) => columns.map((c) => (row.note !== undefined && c !== columns[0] ? '' : String(c.value(row)))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r, j) => (rows[j].note !== undefined ? (i === 0 ? r[0].length : 0) : r[i].length))));
  const line = (parts) => parts.join('  ').trimEnd();
  const pad = (text, i) => (columns[i].left ? text.padEnd(widths[i]) : text.padStart(widths[i]));
  console.log(line(columns.map((c, i) => pad(c.title, i))));
  rows.forEach((row, j) => {
    if (row.note !== undefined) console.log(line([pad(cells[j][0], 0), row.note]));
    else console.log(line(cells[j].map(pad)));
  });
}

export const fixed = (digits) => (n) => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));

/** The value below which p percent of the sorted samples fall (nearest rank). */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** One line saying what was measured where, printed above each table. */
export function machineLine(distDir) {
  return `node ${process.version}, ${availableParallelism()} cores, code: ${distDir}`;
}

/** A positive integer from the environment, or the default. */
export function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return n;
}
