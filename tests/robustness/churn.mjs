// Clients that go away, sessions that expire, tools that hang: 10,000 such events against one
// server, which must stay responsive and give back what it held.
//
// Targets:
//   --target calculator  refcache-calculator (product) on a SQLite file. Events:
//       call     a tools/call whose client closes the connection as soon as it is sent
//       get      a legacy session's GET /mcp SSE stream, closed after its priming event
//       sse      a legacy GET /sse stream, closed after its endpoint event
//       upload   a POST announcing 4 KiB of body, closed after 1 KiB
//   --target fixture     mcp-conformance-server with --session-ttl 1, which has a tool that
//       hangs ("slow": sleeps 10 s unless cancelled). Events: call, get, sse, upload as above, and
//       hang     a tools/call of "slow" whose client gives up after 20-60 ms
//       expire   a legacy session created and left idle past its TTL (touched: 404)
// Meanwhile a prober sends the health probe (server/discover) and calls a quick tool every 100 ms. Asserted:
//   - every probe is answered correctly within 2 s (the server stays responsive);
//   - the server survives; every expired session answers 404; a hung call never blocks others;
//   - resident memory (VmRSS) and open descriptors (/proc/PID/fd) are flat: measured at rest
//     after a warm-up of 2,000 events and again at rest after all 10,000, the descriptors must be
//     back to their warm-up count (+2) and memory within +max(4 MiB, 10%) of it.
//
//   node churn.mjs --target calculator|fixture --bin BIN [--events N]
import net from 'node:net';
import path from 'node:path';
import { LEGACY, callTool, check, deadline, fail, options, procStats, round, rpc, sleep, startServer, tempDir } from './lib.mjs';

const { opt } = options();
const TARGET = opt('--target');
const BIN = opt('--bin');
const EVENTS = Number(opt('--events', 10000));
const WARMUP = Math.min(2000, Math.floor(EVENTS / 5));
const CONCURRENCY = 8;
if (!BIN || !['calculator', 'fixture'].includes(TARGET)) fail('usage: churn.mjs --target calculator|fixture --bin BIN');
deadline(150, `churn ${TARGET}`);

const server = TARGET === 'calculator'
  ? await startServer(BIN, ['--backend', 'sqlite:' + path.join(tempDir('churn'), 'cache.db')])
  : await startServer(BIN, ['--session-ttl', '1']);
const { port } = new URL(server.base);
const HOST = `127.0.0.1:${port}`;
console.log(`${TARGET} on ${server.base}, pid ${server.pid}`);

// --- raw HTTP ---------------------------------------------------------------------------------

// Opens a connection, writes `data`, then closes it (RST-free destroy) once `until(received)`
// holds, or right after writing when `until` is null. Resolves with what was received.
function exchange(data, until, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: Number(port) });
    let got = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no answer within ${timeoutMs} ms: ${got.slice(0, 200)}`)); }, timeoutMs);
    const done = () => { clearTimeout(t); s.destroy(); resolve(got); };
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.on('data', (d) => { got += d.toString(); if (until && until(got)) done(); });
    s.on('close', () => { clearTimeout(t); if (until && !until(got)) reject(new Error('closed early: ' + got.slice(0, 200))); else resolve(got); });
    s.write(data, () => { if (!until) done(); });
  });
}

function post(body, headers = {}, declaredLength) {
  const h = { Host: HOST, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
    'Content-Length': String(declaredLength ?? Buffer.byteLength(body)), ...headers };
  return 'POST /mcp HTTP/1.1\r\n' + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n' + body;
}

const modernCall = (name, args) => post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call',
  params: { name, arguments: args, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } }),
{ 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call', 'Mcp-Name': name });

async function legacySession() {
  const init = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'churn', version: '1' } } }) });
  await init.text();
  const sid = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !sid) throw new Error(`initialize: HTTP ${init.status}`);
  const h = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY };
  const n = await fetch(server.url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await n.text();
  return { sid, headers: h };
}

const ping = (headers) => fetch(server.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }) })
  .then(async (r) => { await r.text(); return r.status; });

// --- the events -------------------------------------------------------------------------------

const sessions = [];
for (let i = 0; i < 4; ++i) sessions.push(await legacySession());
let serial = 0;
const quickTool = TARGET === 'calculator'
  ? () => ['generate_sequence', { sequence_type: 'arithmetic', start: 1e9 + (serial++ % 500) * 100, count: 50 }]
  : () => ['echo', { text: 'x'.repeat(100) }];

const kinds = {
  async call() { await exchange(modernCall(...quickTool()), null); },
  async get() {
    const s = sessions[serial++ % sessions.length];
    await exchange(`GET /mcp HTTP/1.1\r\nHost: ${HOST}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${s.sid}\r\nMCP-Protocol-Version: ${LEGACY}\r\n\r\n`,
      (got) => /\r\n\r\n[\s\S]*data: \n\n/.test(got));
  },
  async sse() {
    await exchange(`GET /sse HTTP/1.1\r\nHost: ${HOST}\r\nAccept: text/event-stream\r\n\r\n`, (got) => got.includes('event: endpoint\ndata: '));
  },
  async upload() {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: { pad: 'p'.repeat(4096) } } });
    await exchange(post(body.slice(0, 1024), { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'x' }, body.length), null);
  },
  async hang() {
    const a = await callTool(server.url, 'slow', {}, { timeoutMs: 20 + Math.floor(Math.random() * 40) });
    if (a.kind !== 'timeout') throw new Error('slow answered early: ' + JSON.stringify(a).slice(0, 200));
  },
};
// Session expiry runs in batches beside the others: create, let expire, touch (404).
let expired = 0;
let expiredNot404 = 0;
async function expireBatch(n) {
  const batch = [];
  for (let i = 0; i < n; ++i) batch.push(await legacySession());
  await sleep(1100);
  for (const s of batch) {
    const st = await ping(s.headers);
    if (st !== 404) ++expiredNot404;
    ++expired;
  }
}

const ONLY = opt('--only');  // one kind alone, for diagnosis
const plan = ONLY ? [ONLY] : TARGET === 'calculator'
  ? ['call', 'call', 'call', 'get', 'get', 'sse', 'sse', 'upload', 'upload', 'get']
  : ['call', 'call', 'get', 'get', 'sse', 'upload', 'hang', 'hang', 'hang', 'sse'];
const EXPIRE_SHARE = TARGET === 'fixture' && (!ONLY || ONLY === 'expire') ? (ONLY ? 1 : 0.2) : 0;  // of the events: expired sessions
let done = 0;
const counts = {};
let eventErrors = [];

// Runs events until `target` (shared count across lanes) is reached.
async function runEvents(target) {
  const expireGoal = Math.round(target * EXPIRE_SHARE);
  const others = target - expireGoal - (done - expired);
  let next = 0;
  const lane = async () => {
    while (next < others) {
      const k = plan[next++ % plan.length];
      try { await kinds[k](); } catch (e) { eventErrors.push(`${k}: ${e.message}`); }
      counts[k] = (counts[k] ?? 0) + 1;
      ++done;
    }
  };
  const expirer = async () => {
    while (expired < expireGoal) { const n = Math.min(250, expireGoal - expired); await expireBatch(n); done += n; }
  };
  await Promise.all([...Array.from({ length: CONCURRENCY }, lane), expirer()]);
}

// The prober: server/discover (the health probe, answered without a worker) and a quick tool
// (on a worker) every 100 ms.
const probes = [];
let probing = true;
const prober = (async () => {
  while (probing) {
    const p = await rpc(server.url, 'server/discover', {}, { timeoutMs: 2000 });
    const [name, args] = quickTool();
    const c = await callTool(server.url, name, args, { timeoutMs: 2000 });
    probes.push({ ping: p.kind, pingMs: p.ms, call: c.kind, callMs: c.ms });
    await sleep(100);
  }
})();

async function atRest() {
  // Let the server finish closing what the last events left (bounded): wait until the
  // descriptor count stops falling.
  let last = procStats(server.pid);
  for (let i = 0; i < 30; ++i) {
    await sleep(100);
    const s = procStats(server.pid);
    if (s.fds >= last.fds && i >= 5) return s;
    last = s;
  }
  return last;
}

const t0 = performance.now();
await runEvents(WARMUP);
const warm = await atRest();
const tWarm = performance.now();
await runEvents(EVENTS);
const end = await atRest();
const seconds = (performance.now() - tWarm) / 1000;
probing = false;
await prober;

check(server.alive(), 'the server survived', server.exitStatus());
check(eventErrors.length === 0, `every event went as planned (${done} events)`, eventErrors.slice(0, 5));
check(done >= EVENTS, `${done} events`, counts);
if (TARGET === 'fixture') check(expiredNot404 === 0, `all ${expired} expired sessions answered 404`, expiredNot404);
const badProbes = probes.filter((p) => p.ping !== 'ok' || p.call !== 'ok');
check(probes.length > 10 && badProbes.length === 0, `all ${probes.length} probes answered correctly within 2 s`, badProbes.slice(0, 5));
const maxProbe = Math.max(...probes.map((p) => Math.max(p.pingMs, p.callMs)));
// The server still answers after everything (and its sessions still work).
const after = await callTool(server.url, ...quickTool());
check(after.kind === 'ok', 'a call after the churn succeeds', after);
check((await ping(sessions[0].headers)) === (TARGET === 'fixture' ? 404 : 200), 'sessions behave as configured afterwards');

const figures = { test: 'churn', target: TARGET, events: done, counts: { ...counts, expire: expired }, seconds: round(seconds + (tWarm - t0) / 1000),
  rss_kb: { warm: warm.rssKb, end: end.rssKb }, fds: { warm: warm.fds, end: end.fds }, threads: { warm: warm.threads, end: end.threads },
  probes: probes.length, max_probe_ms: round(maxProbe) };
console.log(JSON.stringify(figures));
if (end.fds > warm.fds + 2) {
  const { execSync } = await import('node:child_process');
  console.log(execSync(`ls -l /proc/${server.pid}/fd; ss -tanp | grep ${port} | head -50`).toString());
}
check(end.fds <= warm.fds + 2, `open descriptors flat: ${warm.fds} after warm-up, ${end.fds} after ${done} events`);
const rssTolerance = Math.max(4096, warm.rssKb * 0.1);
check(end.rssKb - warm.rssKb <= rssTolerance,
  `resident memory flat: ${warm.rssKb} kB after warm-up, ${end.rssKb} kB after ${done} events (tolerance ${Math.round(rssTolerance)} kB)`);
check(end.threads <= warm.threads, `threads flat: ${warm.threads} -> ${end.threads}`);
await server.stop();
console.log(`PASS churn ${TARGET}`);
process.exit(0);
