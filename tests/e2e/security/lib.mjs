// The harness of the attack tests: the two example servers on a backend (memory, SQLite,
// a real redis-server with a password), reached by the official clients over every
// transport and era:
//   stdio   - @modelcontextprotocol/sdk 1.x spawning the server (one session per process)
//   http    - @modelcontextprotocol/sdk 1.x over Streamable HTTP, 2025-11-25 (sessions)
//   modern  - @modelcontextprotocol/client 2.x pinned to 2026-07-28 (stateless)
//   sse     - @modelcontextprotocol/sdk 1.x over the legacy HTTP+SSE transport
// Everything started is stopped when the process exits; a whole run is bounded in time.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as modern from '@modelcontextprotocol/client';

const args = process.argv.slice(2);
export const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
export const CALC = opt('--calc');
export const ANALYSIS = opt('--analysis');

const children = [];
const clients = [];
export const work = fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-attack-'));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});
export function bound(seconds) {
  setTimeout(() => { console.error(`FAIL: took longer than ${seconds} s`); process.exit(1); }, seconds * 1000).unref();
}

export function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail).slice(0, 2000));
  process.exit(1);
}
export function check(cond, what, detail) {
  if (!cond) fail(what, detail);
  console.log(`ok: ${what}`);
}

// True when `needle` appears in `text` outside any ref id (random hex holds any digits).
export const leaks = (text, needle) =>
  text.replace(/[A-Za-z][A-Za-z0-9_-]*:[0-9a-f]{8,}/g, '').includes(String(needle));

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

let redisUrl = null;
async function startRedis() {
  if (redisUrl) return redisUrl;
  const port = await freePort();
  const password = 'attack-' + Math.random().toString(36).slice(2);
  const dir = fs.mkdtempSync(path.join(work, 'redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password,
    '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  children.push(proc);
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), '-a', password, '--no-auth-warning', 'ping']);
    if (r.stdout?.toString().trim() === 'PONG') return (redisUrl = `redis://:${password}@127.0.0.1:${port}/0`);
    await new Promise((r2) => setTimeout(r2, 50));
  }
  fail('redis-server did not start');
}

// A fresh store of `kind` (memory | sqlite | redis): its backend URL. Redis stores are one
// server's databases 0..15, so that runs do not see each other's refs.
let sqliteCount = 0;
let redisDb = 0;
export async function backend(kind) {
  if (kind === 'memory') return 'memory:';
  if (kind === 'sqlite') return 'sqlite:' + path.join(work, `cache-${++sqliteCount}.db`);
  if (kind === 'redis') {
    const base = await startRedis();
    return base.replace(/\/0$/, '/' + (redisDb++ % 16));
  }
  fail('unknown backend ' + kind);
}

// Starts `bin` over HTTP; resolves to its base URL (http://127.0.0.1:PORT).
export function startHttp(bin, backendUrl, extra = []) {
  const proc = spawn(bin, ['--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--backend', backendUrl, ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${bin} did not start: ${err}`)), 10000);
    proc.stderr.on('data', (d) => {
      err += d.toString();
      const m = err.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/);
      if (m) { clearTimeout(t); resolve({ base: m[1], proc, log: () => err }); }
    });
    proc.on('exit', (c) => { clearTimeout(t); reject(new Error(`${bin} exited with ${c}: ${err}`)); });
  });
}

// A connected client. `server` is startHttp's result (http, modern, sse); stdio spawns `bin`
// with `extra` flags on `backendUrl`. `token` adds a bearer token.
export async function connect(transport, { server, bin, backendUrl, extra = [], token, name = 'attack' }) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  let client;
  if (transport === 'modern') {
    client = new modern.Client({ name, version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new modern.StreamableHTTPClientTransport(new URL(server.base + '/mcp'), { requestInit: { headers } }));
  } else {
    client = new Client({ name, version: '1.0.0' });
    let t;
    if (transport === 'stdio') {
      t = new StdioClientTransport({ command: bin, args: ['--backend', backendUrl, ...extra], stderr: 'ignore' });
    } else if (transport === 'http') {
      t = new StreamableHTTPClientTransport(new URL(server.base + '/mcp'), { requestInit: { headers } });
    } else if (transport === 'sse') {
      t = new SSEClientTransport(new URL(server.base + '/sse'), {
        requestInit: { headers },
        eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...headers } }) },
      });
    } else {
      fail('unknown transport ' + transport);
    }
    await client.connect(t);
  }
  clients.push(client);
  return client;
}

export async function closeAll() {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
}

// Calls a tool: { error, sc, text } where text joins every text block (and error messages).
export async function call(client, name, a) {
  try {
    const r = await client.callTool({ name, arguments: a }, undefined, { timeout: 60000 });
    const text = (r.content ?? []).map((x) => x.text ?? JSON.stringify(x)).join(' ');
    return { error: !!r.isError, sc: r.structuredContent ?? {}, text };
  } catch (e) {
    // A protocol error (e.g. arguments the schema refuses): its message is what the agent sees.
    return { error: true, protocol: true, sc: {}, text: String(e?.message ?? e) };
  }
}

// Reads a resource; { error, text }.
export async function read(client, uri) {
  try {
    const r = await client.readResource({ uri });
    return { error: false, text: r.contents.map((c) => c.text ?? '').join(' ') };
  } catch (e) {
    return { error: true, text: String(e?.message ?? e) };
  }
}

// The runs of an attack: every backend on every transport that can carry it.
export function* matrix(transports, backends = ['memory', 'sqlite', 'redis']) {
  for (const b of backends) for (const t of transports) yield { transport: t, backendKind: b };
}

// A private list the attacker's scope stores (store_private_data): over stdio and legacy HTTP
// an anonymous session, over modern HTTP (stateless) an authenticated user.
export const TOKENS = ['--bearer-token', 'alice-token=alice', '--bearer-token', 'bob-token=bob',
  '--bearer-token', 'mallory-token=mallory'];
