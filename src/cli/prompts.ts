// Every prompt maintctl shows goes through here; inquirer is loaded only when someone is asked.
export interface Prompter {
  verdict(message: string): Promise<'ACK' | 'NACK'>;
  action(message: string, allowed: string[], current: string | null): Promise<string>;
  confirm(message: string): Promise<boolean>;
}

export async function inquirerPrompter(): Promise<Prompter> {
  const { confirm, select } = await import('@inquirer/prompts');
  return {
    verdict: (message) =>
      select({
        message,
        choices: [
          { name: 'Acknowledge', value: 'ACK' as const, description: 'the maintenance may go on' },
          { name: 'Reject', value: 'NACK' as const, description: 'the session stops (MAINTENANCE_FAILED)' },
        ],
      }),
    action: (message, allowed, current) =>
      select({ message, choices: allowed.map((a) => ({ name: a, value: a })), default: current ?? allowed[0] }),
    confirm: (message) => confirm({ message, default: true }),
  };
}
