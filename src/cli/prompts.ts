// Every prompt maintctl shows goes through here; inquirer is loaded only when someone is asked.
import { CancelledError } from './exit-codes.js';
export interface Prompter {
  verdict(message: string): Promise<'ACK' | 'NACK'>;
  action(message: string, allowed: string[], current: string | null): Promise<string>;
  confirm(message: string): Promise<boolean>;
}

export async function inquirerPrompter(): Promise<Prompter> {
  const { confirm, select } = await import('@inquirer/prompts');
  return {
    verdict: (message) =>
      cancellable(
        select({
          message,
          choices: [
            { name: 'Acknowledge', value: 'ACK' as const, description: 'the maintenance may go on' },
            { name: 'Reject', value: 'NACK' as const, description: 'the session stops (MAINTENANCE_FAILED)' },
          ],
        }),
      ),
    action: (message, allowed, current) => cancellable(select({ message, choices: allowed.map((a) => ({ name: a, value: a })), default: current ?? allowed[0] })),
    confirm: (message) => cancellable(confirm({ message, default: true })),
  };
}

/** Ctrl-C at a prompt is the person saying no: "cancelled", exit 130, nothing sent. */
async function cancellable<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (err) {
    if ((err as Error).name === 'ExitPromptError') throw new CancelledError();
    throw err;
  }
}
