// What the e2e scripts share (tests/e2e/*/): a scratch directory and the processes they start (a
// password-protected redis-server, HTTP servers on free loopback ports), ended when the script
// exits; assertions that print what they checked; the official client over Streamable HTTP.
//
//   const { work, children } = scene('refcache-gateway-x-', 90);  // bounded to 90 s
//   const redis = await startRedis(work, children);          // { url, password }
//   const gw = await startHttp(BIN, flags, 'name', children); // { url: URL, log }
//   const c = await connectHttp(gw.url, token, 'alice');
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

// The repository's root.
export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

// A loopback port nobody listens on at the time of the call.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The values of the required command-line options `names` ("--gateway", ...), in order; a
// missing one prints the usage and exits with 2.
export function requiredOptions(script, ...names) {
  const argv = process.argv.slice(2);
  const values = names.map((n) => { const k = argv.indexOf(n); return k >= 0 ? argv[k + 1] : undefined; });
  if (values.some((v) => v === undefined)) {
    console.error(`usage: node ${script} ${names.map((n) => `${n} BIN`).join(' ')}`);
    process.exit(2);
  }
  return values;
}

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
export const sc = (r) => r.structuredContent ?? {};
export const textOf = (r) => (r.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('');

export function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail).slice(0, 2000));
  process.exit(1);
}
export function check(cond, what, detail) { if (!cond) fail(what, detail); }
export function step(s) { console.log(`ok: ${s}`); }
// check, then say what held.
export function expect(cond, what, detail) { check(cond, what, detail); step(what); }

// A scratch directory and the list of child processes, both cleaned up on exit; the script
// fails after `seconds`.
export function scene(prefix, seconds) {
  const children = [];
  const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  });
  setTimeout(() => fail(`took longer than ${seconds} s`), seconds * 1000).unref();
  return { work, children };
}

// The official client (@modelcontextprotocol/sdk) over Streamable HTTP, with a bearer token.
export async function connectHttp(url, token, name) {
  const c = new Client({ name, version: '1.0.0' });
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  return c;
}

// A redis-server with a random password, no persistence, its directory under `work`.
export async function startRedis(work, children) {
  const port = await freePort();
  const password = 'pw-' + Math.random().toString(36).slice(2);
  const dir = fs.mkdtempSync(path.join(work, 'redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password,
    '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(proc);
  for (let k = 0; k < 100; k++) {
    const r = spawnSync('redis-cli', ['-p', String(port), '-a', password, '--no-auth-warning', 'ping']);
    if (r.stdout?.toString().trim() === 'PONG') return { url: `redis://:${password}@127.0.0.1:${port}/0`, password };
    await sleep(100);
  }
  throw new Error('redis-server did not start');
}

// Starts `bin` serving Streamable HTTP on a free loopback port; resolves with its URL and a
// reader of its stderr (`log.text`, `log.lines()`), once it says where it listens.
export function startHttp(bin, extra, name, children) {
  const proc = spawn(bin, [...extra, '--transport', 'http', '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  const log = { text: '', lines() { return this.text.split('\n').filter((l) => l.length > 0); } };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start: ${log.text}`)), 60000);
    proc.stderr.on('data', (d) => {
      log.text += d.toString();
      const m = log.text.match(/listening on (http:\/\/[^\s"\\]+)/);
      if (m) { clearTimeout(t); resolve({ url: new URL(m[1]), log }); }
    });
    proc.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${log.text}`)));
  });
}
