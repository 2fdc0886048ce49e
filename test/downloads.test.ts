// The session's download list, served by a loopback HTTP server the test starts: files land in
// the session's work directory, plugins*.tar.gz bundles are unpacked into its plug-in directory
// and their plug-ins run (Fenix's example request, verbatim but for the server's address). A
// failed, oversized, mismatched or unsafe download fails the session before any host is touched.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pluginRuns } from '../src/store/plugin-runs.js';
import { harness, runSession, type Harness } from './helpers.js';
import { pluginBench, type PluginBench } from './support/plugins.js';

const HOSTS = ['overcloud-novacompute-1.opnfvlf.org', 'overcloud-novacompute-2.opnfvlf.org', 'overcloud-novacompute-3.opnfvlf.org'];
const CLOUD = `hosts:
${HOSTS.map((h) => `  - {name: ${h}, vcpus: 4}`).join('\n')}
instances:
  - {name: vnf-0, project: proj-a, host: ${HOSTS[0]}, vcpus: 2}
  - {name: vnf-1, project: proj-a, host: ${HOSTS[1]}, vcpus: 2}
projects: [{id: proj-a, auto_reply: ack, action: MIGRATE}]
`;
const FENIX_REQUEST = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'fenix-create-session.json'), 'utf8')) as Record<string, unknown>;

interface Files {
  server: Server;
  base: string;
  /** Path -> body; a function answers by itself (status codes, no Content-Length, ...). */
  files: Map<string, Buffer | ((res: import('node:http').ServerResponse) => void)>;
  requests: string[];
}

async function serve(): Promise<Files> {
  const files: Files['files'] = new Map();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = files.get(req.url ?? '');
    if (typeof file === 'function') return file(res);
    if (!file) return res.writeHead(404).end('not here');
    res.writeHead(200, { 'content-length': file.length }).end(file);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, files, requests };
}

/** A .tar.gz of the files under `dir` (entries named as given, links kept as links). */
async function bundle(dir: string, entries: string[], options: { preservePaths?: boolean } = {}): Promise<Buffer> {
  const file = join(dir, '..', `bundle-${Math.random().toString(36).slice(2)}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: dir, portable: true, preservePaths: options.preservePaths }, entries);
  return readFileSync(file);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('downloads', () => {
  let bench: PluginBench;
  let http: Files;
  let h: Harness | null;
  beforeEach(async () => {
    http = await serve();
    h = null;
  });
  afterEach(async () => {
    await h?.engine.stop();
    h?.store.close();
    bench.remove();
    await new Promise((resolve) => http.server.close(resolve));
  });
  const open = (options: { maxDownloadBytes?: number } = {}) => {
    bench = pluginBench(options);
    return (h = harness(CLOUD, { plugins: bench.registry }));
  };

  /** Nothing happened to any host: all pending and enabled, nothing moved, no plug-in ran. */
  function expectUntouched(hh: Harness, sessionId: string) {
    expect(hh.store.hosts(sessionId).map((x) => [x.name, x.state, x.disabled])).toEqual(HOSTS.map((n) => [n, 'PENDING', false]));
    expect(hh.cloud.hosts().every((x) => x.enabled)).toBe(true);
    expect(hh.cloud.operations().filter((op) => op.key.startsWith(sessionId))).toEqual([]);
    expect(pluginRuns(hh.store, sessionId)).toEqual([]);
  }

  it("fetch Fenix's example list, unpack its plug-in bundle and run its plug-ins in order", async () => {
    const hh = open();
    const src = join(bench.out, 'bundle-src');
    mkdirSync(join(src, 'lib'), { recursive: true });
    // Each plug-in checks the software it upgrades with was downloaded, and says what it did.
    const script = (check: string) =>
      `#!/bin/sh\nupgrade=$(printf '%s' "$MAINTCTL_METADATA" | sed -n 's/.*"upgrade":"\\([^"]*\\)".*/\\1/p')\n${check}\n. "$(dirname "$0")/lib/common.sh"\nsay "$MAINTCTL_PLUGIN_TYPE $MAINTCTL_PLUGIN \${MAINTCTL_HOST:--} \${upgrade:--}"\n`;
    writeFileSync(join(src, 'lib', 'common.sh'), `say() { printf '%s\\n' "$*" >> '${bench.out}/log'; }\n`);
    for (const name of ['prepare', 'finalize']) writeFileSync(join(src, name), script('true'), { mode: 0o755 });
    for (const name of ['esw_upgrade', 'os_upgrade']) writeFileSync(join(src, name), script('test -s "$MAINTCTL_WORK_DIR/downloads/$upgrade.tar.gz" || exit 9'), { mode: 0o755 });
    const plugins = await bundle(src, ['prepare', 'esw_upgrade', 'os_upgrade', 'finalize', 'lib']);
    const esw = Buffer.from('new firmware');
    http.files.set('/SW1.tar.gz', Buffer.from('new operating system'));
    http.files.set('/ESW1.tar.gz', esw);
    http.files.set('/plugins1.tar.gz', plugins);
    const request = { ...FENIX_REQUEST, download: (FENIX_REQUEST.download as string[]).map((u) => u.replace('https://my.sw.upgrades.com', http.base)) };
    // The {url, sha256} form checks what arrived.
    (request.download as unknown[])[1] = { url: `${http.base}/ESW1.tar.gz`, sha256: sha256(esw) };

    const { session } = await runSession(hh, request);
    expect(session.state).toBe('MAINTENANCE_DONE');
    const workDir = bench.registry.workDir(session.id);
    expect(readFileSync(join(workDir, 'downloads', 'SW1.tar.gz'), 'utf8')).toBe('new operating system');
    expect(existsSync(join(workDir, 'plugins', 'os_upgrade'))).toBe(true);
    expect(bench.log()).toEqual([
      'pre prepare - -',
      // The empty compute first, then the ones emptied onto it (esw_upgrade before os_upgrade: by name).
      ...[HOSTS[2], HOSTS[0], HOSTS[1]].flatMap((host) => [`host esw_upgrade ${host} ESW1`, `host os_upgrade ${host} SW1`]),
      'post finalize - -',
    ]);
  });

  it('fail before any host is touched when the checksum does not match', async () => {
    const hh = open();
    http.files.set('/SW1.tar.gz', Buffer.from('tampered'));
    const { session } = await runSession(hh, {
      download: [{ url: `${http.base}/SW1.tar.gz`, sha256: sha256(Buffer.from('the real thing')) }],
      actions: [{ plugin: 'dummy', type: 'pre' }],
    });
    expect(session.state).toBe('MAINTENANCE_FAILED');
    expect(session.failure).toBe(
      `downloading the software of the download list failed: ${http.base}/SW1.tar.gz: its SHA-256 is ${sha256(Buffer.from('tampered'))}, not the ${sha256(Buffer.from('the real thing'))} the request gives`,
    );
    expectUntouched(hh, session.id);
    expect(existsSync(join(bench.registry.workDir(session.id), 'downloads', 'SW1.tar.gz'))).toBe(false);
  });

  it('try a failing server again, and fail before any host is touched when it stays down', async () => {
    const hh = open();
    let calls = 0;
    http.files.set('/flaky.tar.gz', (res) => (++calls < 3 ? res.writeHead(503).end('busy') : res.writeHead(200).end('at last')));
    const ok = await runSession(hh, { download: [`${http.base}/flaky.tar.gz`] });
    expect(ok.session.state).toBe('MAINTENANCE_DONE');
    expect(calls).toBe(3);

    await new Promise((resolve) => http.server.close(resolve)); // the server is gone
    const down = await runSession(hh, { download: [`${http.base}/SW1.tar.gz`] });
    expect(down.session.state).toBe('MAINTENANCE_FAILED');
    expect(down.session.failure).toBe(`downloading the software of the download list failed: ${http.base}/SW1.tar.gz: cannot fetch it: ECONNREFUSED (tried 3 times)`);
    expectUntouched(hh, down.session.id);
    http.server = createServer().listen(0); // for afterEach
  });

  it('fail on a file larger than the limit, declared or not, before any host is touched', async () => {
    const hh = open({ maxDownloadBytes: 1000 });
    http.files.set('/big.tar.gz', Buffer.alloc(5000, 1));
    http.files.set('/streamed.tar.gz', (res) => {
      res.writeHead(200); // no Content-Length: counted as it arrives
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(500, 2));
      res.end();
    });
    const declared = await runSession(hh, { download: [`${http.base}/big.tar.gz`] });
    expect(declared.session.failure).toBe(`downloading the software of the download list failed: ${http.base}/big.tar.gz: it is 5000 bytes, more than the limit of 1000`);
    expectUntouched(hh, declared.session.id);
    await hh.engine.deleteSession(declared.session.id); // a failed session keeps its hosts until deleted
    const streamed = await runSession(hh, { download: [`${http.base}/streamed.tar.gz`] });
    expect(streamed.session.failure).toBe(`downloading the software of the download list failed: ${http.base}/streamed.tar.gz: it is more than the limit of 1000 bytes`);
    expectUntouched(hh, streamed.session.id);
    expect(existsSync(join(bench.registry.workDir(streamed.session.id), 'downloads', 'streamed.tar.gz.part'))).toBe(false);
  });

  it('refuse a bundle with a path or a link out of its directory, unpacking nothing, before any host is touched', async () => {
    const hh = open();
    const src = join(bench.out, 'evil', 'inner');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'fine'), '#!/bin/sh\n');
    chmodSync(join(src, 'fine'), 0o755);
    writeFileSync(join(bench.out, 'evil', 'escape'), 'outside');
    symlinkSync('/etc/passwd', join(src, 'passwd'));
    http.files.set('/plugins-escape.tar.gz', await bundle(src, ['fine', '../escape'], { preservePaths: true }));
    http.files.set('/plugins-link.tar.gz', await bundle(src, ['fine', 'passwd']));

    const escape = await runSession(hh, { download: [`${http.base}/plugins-escape.tar.gz`], actions: [{ plugin: 'fine', type: 'host' }] });
    expect(escape.session.failure).toBe(
      `downloading the software of the download list failed: ${http.base}/plugins-escape.tar.gz: bundle refused, nothing unpacked: entry ../escape points outside the plug-in directory`,
    );
    expectUntouched(hh, escape.session.id);
    const workDir = bench.registry.workDir(escape.session.id);
    expect(existsSync(join(workDir, 'plugins', 'fine'))).toBe(false);
    expect(existsSync(join(workDir, 'escape'))).toBe(false);
    await hh.engine.deleteSession(escape.session.id);

    const link = await runSession(hh, { download: [`${http.base}/plugins-link.tar.gz`], actions: [{ plugin: 'fine', type: 'host' }] });
    expect(link.session.failure).toContain('bundle refused, nothing unpacked: entry passwd links to /etc/passwd, outside the plug-in directory');
    expectUntouched(hh, link.session.id);
  });

  it('fail before any host is touched when a plug-in is still found nowhere after the downloads', async () => {
    const hh = open();
    const src = join(bench.out, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'prepare'), '#!/bin/sh\n', { mode: 0o755 });
    http.files.set('/plugins.tar.gz', await bundle(src, ['prepare']));
    const { session } = await runSession(hh, { download: [`${http.base}/plugins.tar.gz`], actions: [{ plugin: 'prepare', type: 'pre' }, { plugin: 'os_upgrade', type: 'host' }] });
    expect(session.failure).toMatch(/^downloading the software of the download list failed: after the downloads: unknown action plug-in "os_upgrade": .* no executable of that name is in .*\/work\/[-0-9a-f]+\/plugins: /);
    expectUntouched(hh, session.id);
  });
});
