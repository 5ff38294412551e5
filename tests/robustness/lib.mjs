// Helpers of the robustness tests (ctest label robustness): real processes on loopback —
// redis-server with a password, the product servers over HTTP — a bounded MCP caller that
// classifies every answer, and /proc figures (resident memory, open descriptors).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const MODERN = '2026-07-28';
export const LEGACY = '2025-11-25';
const META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => Number(process.hrtime.bigint() / 1000n) / 1000;  // ms, monotonic

// --- options, assertions, clean-up -----------------------------------------------------------

export function options(argv = process.argv.slice(2)) {
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  return { opt, has: (name) => argv.includes(name) };
}

const children = [];
const servers = [];  // started by startServer, for their logs on failure
const tempDirs = [];
let cleaned = false;
export function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(1); });

export function tempDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `refcache-${tag}-`));
  tempDirs.push(d);
  return d;
}

export function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail).slice(0, 3000));
  // What the servers said last is usually what explains the failure.
  for (const s of servers.slice(-4)) {
    const tail = s.log().trimEnd().split('\n').slice(-30).join('\n');
    console.error(`--- last lines of ${path.basename(s.bin)} (pid ${s.pid}) ---\n${tail}`);
  }
  process.exit(1);
}
export function check(cond, what, detail) {
  if (!cond) fail(what, detail);
  console.log(`ok: ${what}`);
}

// The whole test is bounded: past `seconds` it fails instead of hanging ctest.
export function deadline(seconds, name) {
  setTimeout(() => fail(`${name} took longer than ${seconds} s`), seconds * 1000).unref();
}

// --- processes -------------------------------------------------------------------------------

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function exited(proc) {
  return proc.exitCode !== null || proc.signalCode !== null;
}

function waitExit(proc, ms = 10000) {
  return new Promise((resolve) => {
    if (exited(proc)) return resolve();
    const t = setTimeout(() => { proc.kill('SIGKILL'); }, ms);
    proc.once('exit', () => { clearTimeout(t); resolve(); });
  });
}

// A redis-server on a free loopback port with a password, its own directory and, with
// `aof`, the append-only file fsynced on every write (fsync 'always') or once a second
// ('everysec', as deploy/compose.yaml). kill9() and start() again keep the port and the
// directory, so a restart finds the AOF.
export async function startRedis({ aof = false, fsync = 'always' } = {}) {
  const dir = tempDir('redis');
  const password = 'robust-' + Math.random().toString(36).slice(2);
  const r = { dir, password, port: 0, proc: null };
  r.cli = (...args) => spawnSync('redis-cli', ['-p', String(r.port), '-a', password, '--no-auth-warning', ...args],
    { timeout: 5000 }).stdout?.toString().trim();
  r.ping = () => r.cli('ping') === 'PONG';
  r.start = async () => {
    r.proc = spawn('redis-server', ['--port', String(r.port), '--bind', '127.0.0.1', '--requirepass', password,
      '--save', '', '--appendonly', aof ? 'yes' : 'no', '--appendfsync', fsync, '--dir', dir,
      '--logfile', path.join(dir, 'redis.log')], { stdio: 'ignore' });
    children.push(r.proc);
    const until = now() + 10000;
    while (now() < until) {
      if (exited(r.proc)) throw new Error('redis-server exited: ' + r.logTail());
      if (r.ping()) return now();
      await sleep(10);
    }
    throw new Error('redis-server did not answer within 10 s: ' + r.logTail());
  };
  r.kill9 = async () => { r.proc.kill('SIGKILL'); await waitExit(r.proc); };
  r.stop = async () => { if (r.proc && !exited(r.proc)) { r.proc.kill('SIGTERM'); await waitExit(r.proc); } };
  r.logTail = () => { try { return fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').slice(-1500); } catch { return ''; } };
  // The servers find Redis through the environment, the password in REDIS_PASSWORD (never on
  // a command line).
  r.env = () => ({ REDIS_URL: '', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(r.port), REDIS_PASSWORD: password });
  for (let attempt = 0; ; ++attempt) {  // another process may take the free port first
    r.port = await freePort();
    try { await r.start(); return r; } catch (e) { if (attempt === 4) throw e; }
  }
}

// One of our HTTP servers (refcache-calculator, refcache-data-analysis, mcp-conformance-server)
// on a free loopback port; resolves once it printed "listening on".
export async function startServer(bin, args = [], env = {}) {
  const proc = spawn(bin, ['--transport', 'http', '--host', '127.0.0.1', '--port', '0', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  children.push(proc);
  let err = '';
  const base = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${bin} did not start: ${err}`)), 15000);
    proc.stderr.on('data', (d) => {
      err += d.toString();
      if (err.length > 200000) err = err.slice(-100000);
      const m = err.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    proc.on('exit', (c, s) => { clearTimeout(t); reject(new Error(`${bin} exited (${c ?? s}): ${err}`)); });
  });
  proc.removeAllListeners('exit');
  const server = {
    bin,
    base,
    url: base + '/mcp',
    proc,
    pid: proc.pid,
    log: () => err,
    alive: () => !exited(proc),
    exitStatus: () => proc.exitCode ?? proc.signalCode,
    stop: async () => { if (!exited(proc)) { proc.kill('SIGTERM'); await waitExit(proc); } },
    kill9: async () => { proc.kill('SIGKILL'); await waitExit(proc); },
  };
  servers.push(server);
  return server;
}

const countBy = (xs) => xs.reduce((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});

// Resident memory (kB: VmRSS, and RssAnon, its part that is not mapped files such as an
// mmap'ed SQLite database) and open descriptors of a process, from /proc.
export function procStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const anon = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? rss);
  const threads = Number(/Threads:\s+(\d+)/.exec(status)[1]);
  const fdList = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/\[\d+\]$/, ''); } catch { return '?'; }
  });
  return { rssKb: rss, anonKb: anon, fds: fdList.length, threads, fdKinds: countBy(fdList) };
}

// --- MCP calls -------------------------------------------------------------------------------

// Parses a POST answer: application/json, or an SSE stream whose response frame we take.
function parseAnswer(text) {
  try { return JSON.parse(text); } catch { /* SSE */ }
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ') || line.length <= 6) continue;
    try {
      const m = JSON.parse(line.slice(6));
      if ('result' in m || 'error' in m) return m;
    } catch { /* keep looking */ }
  }
  return null;
}

// HTTP/1.1 with keep-alive through one agent that closeConnections() empties, so that
// descriptor counts can be taken with no idle client connection open. Never throws; returns
// { status, headers, text, ms } or { timeout: true, ms } or { error, ms }.
let agent = new http.Agent({ keepAlive: true });
export function closeConnections() {
  agent.destroy();
  agent = new http.Agent({ keepAlive: true });
}
export function httpRequest(url, { method = 'POST', headers = {}, body, timeoutMs = 10000, localAddress } = {}) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const t0 = now();
    let settled = false;
    const settle = (r) => { if (!settled) { settled = true; clearTimeout(timer); resolve({ ...r, ms: now() - t0 }); } };
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, agent, localAddress }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => settle({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', (e) => settle({ error: String(e.code ?? e.message) }));
    });
    const timer = setTimeout(() => { settle({ timeout: true }); req.destroy(); }, timeoutMs);
    req.on('error', (e) => settle({ error: String(e.code ?? e.message) }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// One stateless (2026-07-28) request, bounded by `timeoutMs`. Never throws; returns
//   { kind: 'ok', result }            a result (for tools/call: isError false)
//   { kind: 'tool_error', text, result } a tools/call result with isError true
//   { kind: 'rpc_error', code, message } a JSON-RPC error answer
//   { kind: 'timeout' }               no answer within timeoutMs (a hang)
//   { kind: 'transport', message }    connection refused/reset, or an answer that is not MCP
// plus ms, the latency.
let nextId = 1;
export async function rpc(url, method, params = {}, { timeoutMs = 10000, name } = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN, 'mcp-method': method };
  if (name !== undefined) headers['mcp-name'] = name;
  const body = JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: META } });
  const r = await httpRequest(url, { headers, body, timeoutMs });
  if (r.timeout) return { kind: 'timeout', ms: r.ms };
  if (r.error) return { kind: 'transport', message: r.error, ms: r.ms };
  const m = parseAnswer(r.text);
  if (!m) return { kind: 'transport', message: `HTTP ${r.status}: ${r.text.slice(0, 200)}`, ms: r.ms };
  if (m.error) return { kind: 'rpc_error', code: m.error.code, message: String(m.error.message ?? ''), ms: r.ms };
  const res = m.result;
  if (res?.isError) {
    const t = (res.content ?? []).map((c) => c.text ?? '').join(' ');
    return { kind: 'tool_error', text: t, result: res, ms: r.ms };
  }
  return { kind: 'ok', result: res, ms: r.ms };
}

export function callTool(url, name, args, opts = {}) {
  return rpc(url, 'tools/call', { name, arguments: args }, { ...opts, name });
}

// structuredContent of an ok tools/call answer.
export const sc = (a) => a.result?.structuredContent;

// --- figures ---------------------------------------------------------------------------------

export function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
export const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
