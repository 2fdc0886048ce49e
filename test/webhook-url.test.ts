// Webhook targets: credentials never shown, link-local and metadata hosts refused unless allowed.
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { checkWebhookUrl, redactUrl } from '../src/domain/webhook-url.js';
import { tempDir } from './support/serve.js';

const resolver = (table: Record<string, string[]>) => async (host: string) => {
  if (!table[host]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return table[host]!;
};

describe('checkWebhookUrl', () => {
  const resolve = resolver({ 'vnfm.example': ['192.0.2.10'], 'sneaky.example': ['192.0.2.11', '169.254.169.254'], 'v6.example': ['fe80::1'] });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'refusing webhook host 169.254.169.254: it is a link-local address (169.254.0.0/16, where cloud metadata services answer); if it really is your VNFM, allow it with --allow-webhook-host 169.254.169.254'],
    ['http://[fe80::1]:80/', 'refusing webhook host fe80::1: it is a link-local address (fe80::/10); if it really is your VNFM, allow it with --allow-webhook-host fe80::1'],
    ['http://[fd00:ec2::254]/', 'refusing webhook host fd00:ec2::254: it is a cloud metadata address; if it really is your VNFM, allow it with --allow-webhook-host fd00:ec2::254'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'refusing webhook host metadata.google.internal: it is a cloud metadata service name; if it really is your VNFM, allow it with --allow-webhook-host metadata.google.internal'],
    ['http://0.0.0.0:8080/', 'refusing webhook host 0.0.0.0: it is the "this host" address 0.0.0.0/8; if it really is your VNFM, allow it with --allow-webhook-host 0.0.0.0'],
    ['http://sneaky.example/hook', 'refusing webhook host sneaky.example: it is resolved to 169.254.169.254, a link-local address (169.254.0.0/16, where cloud metadata services answer); if it really is your VNFM, allow it with --allow-webhook-host sneaky.example'],
    ['http://v6.example/hook', 'refusing webhook host v6.example: it is resolved to fe80::1, a link-local address (fe80::/10); if it really is your VNFM, allow it with --allow-webhook-host v6.example'],
    ['ftp://vnfm.example/hook', 'invalid webhook URL "ftp://vnfm.example/hook": give an http or https URL, e.g. http://vnfm.example:8080/maintenance'],
    ['http://user:hunter2@', 'invalid webhook URL "http://***@": give an http or https URL, e.g. http://vnfm.example:8080/maintenance'],
  ])('refuses %s', async (url, message) => {
    await expect(checkWebhookUrl(url, [], resolve)).rejects.toThrow(message);
  });

  it.each(['http://vnfm.example:8080/maintenance', 'https://u:p@vnfm.example/h', 'http://127.0.0.1:9/x', 'http://[::1]:9/', 'http://unknown.example/h'])('accepts %s', async (url) => {
    expect(await checkWebhookUrl(url, [], resolve)).toBe(url);
  });

  it('lets an allowed host through', async () => {
    expect(await checkWebhookUrl('http://169.254.169.254/hook', ['169.254.169.254'], resolve)).toBe('http://169.254.169.254/hook');
    expect(await checkWebhookUrl('http://Sneaky.Example/hook', ['sneaky.example'], resolve)).toBe('http://Sneaky.Example/hook');
  });
});

describe('redactUrl', () => {
  it.each([
    ['http://vnfm:s3cret@vnfm.example:8080/hook?x=1', 'http://***@vnfm.example:8080/hook?x=1'],
    ['https://token@vnfm.example/', 'https://***@vnfm.example/'],
    ['http://vnfm.example/a@b', 'http://vnfm.example/a@b'],
    ['http://vnfm.example/', 'http://vnfm.example/'],
  ])('%s -> %s', (url, shown) => expect(redactUrl(url)).toBe(shown));
});

describe('maintctl project subscribe with a webhook', () => {
  const dir = tempDir('maintctl-hook-');
  const cli = async (...args: string[]) => {
    const io = bufferIO();
    const code = await main(['--state-dir', dir, ...args], io);
    return { code, out: io.stdout(), err: io.stderr() };
  };

  it('refuses the metadata address (exit 2, nothing subscribed) unless --allow-webhook-host names it', async () => {
    const refused = await cli('project', 'subscribe', 'proj-a', '--url', 'http://169.254.169.254/latest/');
    expect(refused.code).toBe(2);
    expect(refused.err).toBe('maintctl: refusing webhook host 169.254.169.254: it is a link-local address (169.254.0.0/16, where cloud metadata services answer); if it really is your VNFM, allow it with --allow-webhook-host 169.254.169.254\n');
    // No store was made (a refused subscribe writes nothing): listing says so.
    expect((await cli('-o', 'json', 'project', 'subscriptions')).code).toBe(5);
    const allowed = await cli('project', 'subscribe', 'proj-a', '--url', 'http://169.254.169.254/hook', '--allow-webhook-host', '169.254.169.254');
    expect(allowed.code, allowed.err).toBe(0);
  });

  it('never prints the credentials of a webhook URL', async () => {
    const sub = await cli('project', 'subscribe', 'proj-b', '--url', 'http://vnfm:s3cret@127.0.0.1:9/hook');
    expect(sub).toMatchObject({ code: 0, out: 'subscribed proj-b to maintenance.planned: http://***@127.0.0.1:9/hook (fenix)\n' });
    const listed = [await cli('project', 'subscriptions'), await cli('-o', 'json', 'project', 'subscriptions'), await cli('-o', 'yaml', 'project', 'subscriptions', 'proj-b')];
    for (const r of listed) {
      expect(r.code).toBe(0);
      expect(r.out).toContain('http://***@127.0.0.1:9/hook');
      expect(r.out).not.toContain('s3cret');
    }
    const bad = await cli('project', 'subscribe', 'proj-b', '--url', 'gopher://vnfm:s3cret@x/');
    expect(bad.code).toBe(2);
    expect(bad.err).not.toContain('s3cret');
  });
});
