// Where the embedded store lives: --state-dir, MAINTCTL_STATE_DIR, else $XDG_STATE_HOME/maintctl.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  if (env.MAINTCTL_STATE_DIR) return env.MAINTCTL_STATE_DIR;
  const xdg = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(xdg, 'maintctl');
}

export const storePath = (stateDir: string) => join(stateDir, 'maintctl.db');

