// OpenStack credentials the way every OpenStack client finds them: OS_* variables, or a cloud
// named by OS_CLOUD (or --cloud openstack:NAME) in clouds.yaml.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidInputError } from '../../domain/errors.js';

export type Credentials =
  | {
      method: 'password';
      authUrl: string;
      username?: string;
      userId?: string;
      userDomain: { id?: string; name?: string };
      password: string;
      project: { id?: string; name?: string; domain: { id?: string; name?: string } };
      region?: string;
      interface: string;
    }
  | {
      method: 'application_credential';
      authUrl: string;
      id?: string;
      name?: string;
      username?: string;
      userDomain: { id?: string; name?: string };
      secret: string;
      region?: string;
      interface: string;
    };

const CLOUDS_FILES = (env: NodeJS.ProcessEnv) => [
  env.OS_CLIENT_CONFIG_FILE,
  join(process.cwd(), 'clouds.yaml'),
  join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'openstack', 'clouds.yaml'),
  '/etc/openstack/clouds.yaml',
];

/** The credentials of cloud `name` (clouds.yaml), or from OS_* variables when no name is given. */
export function resolveCredentials(name: string | null, env: NodeJS.ProcessEnv = process.env): Credentials {
  const cloud = name ?? env.OS_CLOUD ?? null;
  return cloud ? fromCloudsYaml(cloud, env) : fromEnv(env);
}

function fromEnv(env: NodeJS.ProcessEnv): Credentials {
  return build(
    {
      auth_url: env.OS_AUTH_URL,
      username: env.OS_USERNAME,
      user_id: env.OS_USER_ID,
      password: env.OS_PASSWORD,
      user_domain_name: env.OS_USER_DOMAIN_NAME,
      user_domain_id: env.OS_USER_DOMAIN_ID,
      project_name: env.OS_PROJECT_NAME ?? env.OS_TENANT_NAME,
      project_id: env.OS_PROJECT_ID ?? env.OS_TENANT_ID,
      project_domain_name: env.OS_PROJECT_DOMAIN_NAME,
      project_domain_id: env.OS_PROJECT_DOMAIN_ID,
      application_credential_id: env.OS_APPLICATION_CREDENTIAL_ID,
      application_credential_name: env.OS_APPLICATION_CREDENTIAL_NAME,
      application_credential_secret: env.OS_APPLICATION_CREDENTIAL_SECRET,
    },
    { auth_type: env.OS_AUTH_TYPE, region_name: env.OS_REGION_NAME, interface: env.OS_INTERFACE ?? env.OS_ENDPOINT_TYPE },
    'the OS_* environment variables',
  );
}

function fromCloudsYaml(cloud: string, env: NodeJS.ProcessEnv): Credentials {
  const file = CLOUDS_FILES(env).find((f): f is string => Boolean(f) && existsSync(f!));
  if (!file) throw new InvalidInputError(`no clouds.yaml found for cloud "${cloud}" (looked in ./, ~/.config/openstack/, /etc/openstack/)`);
  const doc = parseYaml(readFileSync(file, 'utf8')) as { clouds?: Record<string, Record<string, unknown>> } | null;
  const entry = doc?.clouds?.[cloud];
  if (!entry) throw new InvalidInputError(`cloud "${cloud}" is not in ${file}: it has ${Object.keys(doc?.clouds ?? {}).join(', ') || 'no clouds'}`);
  return build((entry.auth ?? {}) as Record<string, string | undefined>, entry as Record<string, string | undefined>, `cloud "${cloud}" in ${file}`);
}

function build(auth: Record<string, string | undefined>, top: Record<string, unknown>, source: string): Credentials {
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new InvalidInputError(`${source}: ${what} is missing`);
    return value;
  };
  const authUrl = need(auth.auth_url, 'the auth URL (OS_AUTH_URL / auth_url)').replace(/\/+$/, '');
  const region = (top.region_name as string | undefined) || undefined;
  const iface = ((top.interface as string | undefined) || 'public').replace(/URL$/, '');
  const userDomain = { id: auth.user_domain_id, name: auth.user_domain_name ?? (auth.user_domain_id ? undefined : 'Default') };
  const isAppCred = String(top.auth_type ?? '').startsWith('v3applicationcredential') || Boolean(auth.application_credential_secret);
  if (isAppCred) {
    if (!auth.application_credential_id && !auth.application_credential_name) {
      throw new InvalidInputError(`${source}: an application credential needs its id or its name`);
    }
    return {
      method: 'application_credential',
      authUrl,
      id: auth.application_credential_id,
      name: auth.application_credential_name,
      username: auth.username,
      userDomain,
      secret: need(auth.application_credential_secret, 'the application credential secret'),
      region,
      interface: iface,
    };
  }
  if (!auth.username && !auth.user_id) throw new InvalidInputError(`${source}: the user (OS_USERNAME / username) is missing`);
  if (!auth.project_name && !auth.project_id) {
    throw new InvalidInputError(`${source}: the project to work in (OS_PROJECT_NAME or OS_PROJECT_ID / project_name) is missing`);
  }
  return {
    method: 'password',
    authUrl,
    username: auth.username,
    userId: auth.user_id,
    userDomain,
    password: need(auth.password, 'the password (OS_PASSWORD / password)'),
    project: {
      id: auth.project_id,
      name: auth.project_name,
      domain: { id: auth.project_domain_id, name: auth.project_domain_name ?? (auth.project_domain_id ? undefined : 'Default') },
    },
    region,
    interface: iface,
  };
}
