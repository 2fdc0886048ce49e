// All terminal behaviour goes through one IO object, with a test double that captures output.
import { Writable } from 'node:stream';

export interface Spinner {
  text(text: string): void;
  stop(): void;
}

export interface IO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  isTTY: boolean;
  color: boolean;
  env: NodeJS.ProcessEnv;
  /** Someone can answer prompts: stdin and stdout are a terminal and this is not CI. */
  canPrompt: boolean;
  /** A spinner on stderr for people waiting; does nothing when nobody is watching a terminal. */
  spinner(text: string): Spinner;
}

const NO_SPINNER: Spinner = { text: () => undefined, stop: () => undefined };

/** CI=true, CI=1, CI=anything but false or 0. */
export const inCI = (env: NodeJS.ProcessEnv) => Boolean(env.CI) && !['false', '0'].includes(String(env.CI).toLowerCase());

/** Live terminal effects (colour, spinner, redraw) only on a terminal, never with NO_COLOR or in CI. */
export function systemIO(env: NodeJS.ProcessEnv = process.env): IO {
  const isTTY = Boolean(process.stdout.isTTY);
  const allowed = !env.NO_COLOR && !inCI(env);
  return {
    out: process.stdout,
    err: process.stderr,
    isTTY,
    color: isTTY && allowed,
    env,
    canPrompt: isTTY && Boolean(process.stdin.isTTY) && !inCI(env),
    // The spinner goes to stderr, so it follows stderr's terminal (stdout may be a file).
    spinner: (text) => {
      if (!allowed || !process.stderr.isTTY) return NO_SPINNER;
      return oraSpinner(text);
    },
  };
}

/** ora, loaded only when a spinner is shown: it starts as soon as the module is in. */
function oraSpinner(text: string): Spinner {
  const state: { text: string; stopped: boolean; ora?: { text: string; stop(): void } } = { text, stopped: false };
  void import('ora').then(({ default: ora }) => {
    if (!state.stopped) state.ora = ora({ text: state.text, stream: process.stderr }).start();
  });
  return {
    text: (t) => void (state.ora ? (state.ora.text = t) : (state.text = t)),
    stop: () => {
      state.stopped = true;
      state.ora?.stop();
    },
  };
}

export const quietSpinner = (): Spinner => NO_SPINNER;

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
    canPrompt: false,
    spinner: () => NO_SPINNER,
    stdout: () => chunks.out.join(''),
    stderr: () => chunks.err.join(''),
  };
}
