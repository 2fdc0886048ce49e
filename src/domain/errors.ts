// Error kinds that callers can tell apart; the CLI maps each to one exit code.

export class MaintctlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input was wrong: bad flag, bad file, bad body. Nothing was changed. */
export class InvalidInputError extends MaintctlError {}

/** The thing named does not exist. */
export class NotFoundError extends MaintctlError {}

/** The request was understood but is not allowed now (wrong state, deadline passed, conflict). */
export class RefusedError extends MaintctlError {}
