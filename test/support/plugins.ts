// Plug-in directories for tests: real shell scripts written to a temporary directory, and a way
// to wait for what they leave behind (a file) without sleeping for a fixed time.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginRegistry } from '../../src/engine/plugins.js';

export interface PluginBench {
  /** Where the scripts are (a --plugin-dir). */
  dir: string;
  /** Where scripts write what they saw (their $OUT). */
  out: string;
  /** The registry an engine runs them with (work directories under the bench). */
  registry: PluginRegistry;
  /** Writes an executable /bin/sh script named `name`; $OUT is the bench's out directory. */
  write(name: string, body: string): string;
  /** The lines scripts appended to $OUT/log (each script: `log "text"`). */
  log(): string[];
  remove(): void;
}

export function pluginBench(options: { maxDownloadBytes?: number } = {}): PluginBench {
  const root = mkdtempSync(join(tmpdir(), 'maintctl-plugins-'));
  const dir = join(root, 'plugins');
  const out = join(root, 'out');
  mkdirSync(dir);
  mkdirSync(out);
  const registry = new PluginRegistry({ dirs: [dir], workRoot: join(root, 'work'), maxDownloadBytes: options.maxDownloadBytes });
  return {
    dir,
    out,
    registry,
    write(name, body) {
      const path = join(dir, name);
      // log appends one line atomically (a short write with O_APPEND), so concurrent runs do not mix.
      writeFileSync(path, `#!/bin/sh\nOUT='${out}'\nlog() { printf '%s\\n' "$*" >> "$OUT/log"; }\n${body}\n`);
      chmodSync(path, 0o755);
      return path;
    },
    log: () => (existsSync(join(out, 'log')) ? readFileSync(join(out, 'log'), 'utf8').split('\n').filter(Boolean) : []),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Resolves once `path` exists; rejects after `guardMs` (a guard against a hang, not a timing). */
export async function untilExists(path: string | (() => boolean), guardMs = 30_000): Promise<void> {
  const ready = typeof path === 'string' ? () => existsSync(path) : path;
  const giveUp = Date.now() + guardMs;
  while (!ready()) {
    if (Date.now() > giveUp) throw new Error(`gave up waiting for ${typeof path === 'string' ? path : 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A shell line that blocks until the test creates `$OUT/<name>`. */
export const blockUntil = (name: string) => `while [ ! -e "$OUT/${name}" ]; do sleep 0.02; done`;

/** Whether a process exists and is not a zombie (a container's init may not reap at once). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
