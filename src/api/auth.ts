// Who a request is: admin (everything) or one project (its own routes only). Tokens come from a
// tokens file (`serve --tokens FILE`) or the cloud's Keystone (`serve --auth keystone`).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { InvalidInputError } from '../domain/errors.js';
import { parseWith } from '../domain/validate.js';
import { HttpError } from './http.js';

export type Principal = { role: 'admin' } | { role: 'project'; project: string };

export const ADMIN: Principal = { role: 'admin' };

/** Resolves a presented token to a principal, or null when the token is unknown or expired. */
export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
}

/** The token of a request: Fenix's X-Auth-Token, or Authorization: Bearer. */
export function presentedToken(req: IncomingMessage): string | null {
  const header = req.headers['x-auth-token'];
  if (typeof header === 'string' && header.trim()) return header.trim();
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : null;
}

/** Who sent the request; without an authenticator (loopback only) everyone is admin. */
export async function principalOf(req: IncomingMessage, auth: Authenticator | null): Promise<Principal> {
  if (!auth) return ADMIN;
  const token = presentedToken(req);
  const unauthorized = { 'www-authenticate': 'Bearer realm="maintctl"' };
  if (!token) throw new HttpError(401, 'authentication required: send a token in X-Auth-Token or Authorization: Bearer', unauthorized);
  const principal = await auth.authenticate(token);
  if (!principal) throw new HttpError(401, 'the token is not valid (unknown or expired)', unauthorized);
  return principal;
}

const tokenEntry = z.union([
  z.strictObject({ token: z.string().min(16, 'a token has at least 16 characters'), role: z.literal('admin') }),
  z.strictObject({ token: z.string().min(16, 'a token has at least 16 characters'), project: z.string().min(1) }),
]);
const tokensFileSchema = z.strictObject({ tokens: z.array(tokenEntry).min(1, 'the file names no token') });

interface Entry {
  digest: Buffer;
  principal: Principal;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/** The tokens of a tokens file; `reload()` reads the file again (on SIGHUP) and keeps the old set if the new one is bad. */
export class TokensFile implements Authenticator {
  private entries: Entry[];

  constructor(private readonly path: string) {
    this.entries = TokensFile.read(path);
  }

  static read(path: string): Entry[] {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new InvalidInputError(`cannot read the tokens file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new InvalidInputError(`the tokens file ${path} is not JSON: write {"tokens": [{"token": "...", "role": "admin"}]}`);
    }
    const file = parseWith(tokensFileSchema, json, `tokens file ${path}`);
    return file.tokens.map((t) => ({ digest: digest(t.token), principal: 'role' in t ? ADMIN : { role: 'project', project: t.project } }));
  }

  reload(): void {
    this.entries = TokensFile.read(this.path);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Compares against every token in constant time (digests of equal length, no early exit). */
  async authenticate(token: string): Promise<Principal | null> {
    const presented = digest(token);
    let found: Principal | null = null;
    for (const entry of this.entries) if (timingSafeEqual(entry.digest, presented) && !found) found = entry.principal;
    return found;
  }
}

/** May this principal act on the project's routes? */
export const mayActFor = (principal: Principal, project: string) => principal.role === 'admin' || principal.project === project;

export function requireAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new HttpError(403, 'this needs an admin token');
}

export function requireProject(principal: Principal, project: string): void {
  if (!mayActFor(principal, project)) throw new HttpError(403, `this token is for project ${(principal as { project: string }).project}, not ${project}`);
}
