// A session's `download` list: each URL fetched with undici into the session's work directory
// (retried when the server or the network fails, cut off past a size limit, checked against its
// SHA-256 when one is given); bundles named plugins*.tar.gz are unpacked into the session's
// plug-in directory, refusing any entry that would land or point outside it. Loaded only by a
// session that downloads something.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, join, normalize, posix } from 'node:path';
import type { DownloadEntry } from '../domain/model.js';

/** Largest download accepted by default: 4 GiB. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;
/** Tries per URL when the server or the network fails. */
const ATTEMPTS = 3;

export interface DownloadOptions {
  entries: readonly DownloadEntry[];
  /** Files go to workDir/downloads. */
  workDir: string;
  /** Where plug-in bundles are unpacked. */
  pluginDir: string;
  maxBytes: number;
  /** Waits between tries, on the session's clock. */
  pause: (ms: number) => Promise<void>;
}

/** A download that failed for good (not worth trying again). */
class DownloadError extends Error {
  constructor(
    message: string,
    readonly retry = false,
  ) {
    super(message);
  }
}

export const entryUrl = (e: DownloadEntry) => (typeof e === 'string' ? e : e.url);

/** The file a URL is saved as: the last part of its path. */
export function downloadName(url: string): string {
  const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  return /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(last) ? last : 'download';
}

/** Whether a downloaded file is a bundle of plug-ins (as plugins1.tar.gz in Fenix's example). */
export const isPluginBundle = (name: string) => /^plugins.*\.(tar\.gz|tgz)$/.test(name);

/** Fetches every entry in order; returns one line per file saying what was done. Throws on the first failure. */
export async function downloadAll(options: DownloadOptions): Promise<string[]> {
  const dir = join(options.workDir, 'downloads');
  mkdirSync(dir, { recursive: true });
  const report: string[] = [];
  for (const entry of options.entries) {
    const url = entryUrl(entry);
    const name = downloadName(url);
    const file = join(dir, name);
    const size = await fetchWithRetries(url, file, typeof entry === 'string' ? undefined : entry.sha256, options);
    report.push(`${url}: ${size} bytes saved as ${file}`);
    if (isPluginBundle(name)) {
      const count = await unpackBundle(file, options.pluginDir).catch((err: Error) => {
        throw new Error(`${url}: ${err.message}`);
      });
      report.push(`${name}: ${count} entries unpacked into ${options.pluginDir}`);
    }
  }
  return report;
}

async function fetchWithRetries(url: string, file: string, sha256: string | undefined, options: DownloadOptions): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchOnce(url, file, sha256, options.maxBytes);
    } catch (err) {
      const retry = !(err instanceof DownloadError) || err.retry;
      const message = err instanceof DownloadError ? err.message : `cannot fetch it: ${causeOf(err)}`;
      if (!retry || attempt >= ATTEMPTS) throw new Error(`${url}: ${message}${retry ? ` (tried ${attempt} times)` : ''}`);
      await options.pause(1000 * 4 ** (attempt - 1));
    }
  }
}

async function fetchOnce(url: string, file: string, sha256: string | undefined, maxBytes: number): Promise<number> {
  const { fetch } = await import('undici');
  const part = `${file}.part`;
  const response = await fetch(url, { redirect: 'follow' });
  if (!response.ok) {
    await response.body?.cancel();
    throw new DownloadError(`the server answered ${response.status} ${response.statusText}`, response.status >= 500 || response.status === 429);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new DownloadError(`it is ${declared} bytes, more than the limit of ${maxBytes}`);
  }
  const hash = createHash('sha256');
  const out = await open(part, 'w');
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new DownloadError(`it is more than the limit of ${maxBytes} bytes`);
      hash.update(chunk);
      await out.write(chunk);
    }
  } catch (err) {
    await response.body?.cancel().catch(() => undefined);
    rmSync(part, { force: true });
    throw err;
  } finally {
    await out.close();
  }
  const digest = hash.digest('hex');
  if (sha256 && digest !== sha256.toLowerCase()) {
    rmSync(part, { force: true });
    throw new DownloadError(`its SHA-256 is ${digest}, not the ${sha256.toLowerCase()} the request gives`);
  }
  renameSync(part, file);
  return size;
}

const causeOf = (err: unknown) => {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
};

// ---- unpacking

const PLAIN = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Why a bundle entry may not be unpacked, or null. */
export function entryProblem(path: string, type: string, linkpath: string | undefined): string | null {
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path)) return `entry ${path} has an absolute path`;
  const inside = (p: string) => {
    const n = posix.normalize(p);
    return n !== '..' && !n.startsWith('../') && !posix.isAbsolute(n);
  };
  if (!inside(path) || normalize(path).split(/[\\/]/).includes('..')) return `entry ${path} points outside the plug-in directory`;
  if (PLAIN.has(type)) return null;
  if (type === 'SymbolicLink' || type === 'Link') {
    const target = linkpath ?? '';
    // A symbolic link is read from its own directory; a hard link from the bundle's root.
    const resolved = type === 'SymbolicLink' ? posix.join(posix.dirname(path), target) : target;
    if (isAbsolute(target) || !inside(resolved)) return `entry ${path} links to ${target}, outside the plug-in directory`;
    return null;
  }
  return `entry ${path} is a ${type}: only files, directories and links inside the bundle are unpacked`;
}

/** Checks every entry first, then unpacks; returns how many entries there were. */
export async function unpackBundle(file: string, dir: string): Promise<number> {
  const tar = await import('tar');
  const problems: string[] = [];
  let count = 0;
  await tar.t({
    file,
    strict: true,
    onReadEntry: (entry) => {
      count++;
      const problem = entryProblem(entry.path, entry.type, entry.linkpath);
      if (problem) problems.push(problem);
    },
  });
  if (problems.length) throw new Error(`bundle refused, nothing unpacked: ${problems.slice(0, 3).join('; ')}`);
  mkdirSync(dir, { recursive: true });
  await tar.x({ file, cwd: dir, strict: true, preservePaths: false });
  return count;
}
