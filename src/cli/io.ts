// All terminal behaviour goes through one IO object, with a test double that captures output.
import { Writable } from 'node:stream';

export interface IO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  isTTY: boolean;
  color: boolean;
  env: NodeJS.ProcessEnv;
}

export function systemIO(env: NodeJS.ProcessEnv = process.env): IO {
  const isTTY = Boolean(process.stdout.isTTY);
  return { out: process.stdout, err: process.stderr, isTTY, color: isTTY && !env.NO_COLOR && !env.CI, env };
}

/** Captures everything written, for tests. */
export function bufferIO(env: NodeJS.ProcessEnv = {}): IO & { stdout(): string; stderr(): string } {
  const chunks = { out: [] as string[], err: [] as string[] };
  const sink = (into: string[]) =>
    new Writable({
      write(chunk, _enc, done) {
        into.push(String(chunk));
        done();
      },
    });
  return {
    out: sink(chunks.out),
    err: sink(chunks.err),
    isTTY: false,
    color: false,
    env,
    stdout: () => chunks.out.join(''),
    stderr: () => chunks.err.join(''),
  };
}
