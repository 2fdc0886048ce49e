// The limits of session and sim options, apart from the schemas so the CLI can check flags
// without loading zod.
/** Longest a project may be given to answer a notification, in seconds: 7 days. */
export const MAX_REPLY_SECONDS = 7 * 24 * 3600;
/** Most hosts a session may have in flight at once, when given as a number. */
export const MAX_PARALLEL_HOSTS = 10_000;
/** Most moves (migrations, live migrations) a session may have under way at once. */
export const MAX_MIGRATIONS = 1000;
/** Longest a step of the simulated cloud (a move, a host's maintenance, a scripted reply) may take, in seconds: 7 days. */
export const MAX_SIM_SECONDS = 7 * 24 * 3600;
