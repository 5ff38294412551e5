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
//       ssepost  a legacy session's tools/call answered as an SSE stream (progress first),
//                closed after the first progress event (the stream stays resumable)
//       hang     a tools/call of "slow" whose client gives up after 20-60 ms
//       expire   a legacy session created and left idle past its TTL (touched: 404)
// Meanwhile a prober sends the health probe (server/discover) and calls a quick tool every 100 ms. Asserted:
//   - every probe is answered correctly within 5 s (the server stays responsive);
//   - the server survives; every expired session answers 404; a hung call never blocks others;
//   - resident memory (VmRSS) and open descriptors (/proc/PID/fd) are flat: measured at rest
//     (no request running, no client connection open) after a warm-up of 2,000 events and again
//     after all 10,000, the descriptors must be back to their warm-up count (+1; SQLite's
//     per-thread connections, opened lazily, are bounded by the thread count instead), the
//     threads no more, and memory within +max(4 MiB, 10%) of it.
//
//   node churn.mjs --target calculator|fixture --bin BIN [--events N]
import net from 'node:net';
import path from 'node:path';
import { LEGACY, callTool, check, closeConnections, deadline, fail, httpRequest, options, procStats, round, rpc, sleep, startServer, tempDir } from './lib.mjs';

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
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await httpRequest(server.url, { headers: base,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'churn', version: '1' } } }) });
  const sid = init.headers?.['mcp-session-id'];
  if (init.status !== 200 || !sid) throw new Error(`initialize: ${JSON.stringify(init).slice(0, 200)}`);
  const h = { ...base, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY };
  const n = await httpRequest(server.url, { headers: h, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  if (n.status !== 202) throw new Error(`initialized: ${JSON.stringify(n).slice(0, 200)}`);
  return { sid, headers: h };
}

const ping = (headers) => httpRequest(server.url, { headers, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }) })
  .then((r) => r.status ?? r.error ?? 'timeout');

// --- the events -------------------------------------------------------------------------------

const sessions = [];
for (let i = 0; i < 4; ++i) sessions.push(await legacySession());
let serial = 0;
const quickTool = TARGET === 'calculator'
  ? () => ['generate_sequence', { sequence_type: 'arithmetic', start: 1e9 + (serial++ % 500) * 100, count: 50 }]
  : () => ['echo', { text: 'x'.repeat(100) }];

const notFound = (g) => /^HTTP\/1\.1 404[\s\S]*\r\n\r\n[\s\S]*\}/.test(g);
// Runs `fn(session id)` on one of the shared legacy sessions. The fixture's sessions expire
// after 1 s idle (e.g. while figures are taken): on 404, a new session replaces it, once.
async function inSession(fn) {
  const i = serial++ % sessions.length;
  for (let attempt = 0; ; ++attempt) {
    const got = await fn(sessions[i].sid);
    if (!got.startsWith('HTTP/1.1 404')) return;
    if (TARGET !== 'fixture' || attempt > 0) throw new Error('session not found');
    sessions[i] = await legacySession();
  }
}

const kinds = {
  async call() { await exchange(modernCall(...quickTool()), null); },
  // A legacy session's GET /mcp SSE stream, closed after its priming event.
  async get() {
    await inSession((sid) => exchange(`GET /mcp HTTP/1.1\r\nHost: ${HOST}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${sid}\r\nMCP-Protocol-Version: ${LEGACY}\r\n\r\n`,
      (g) => /\r\n\r\n[\s\S]*data: \n\n/.test(g) || notFound(g)));
  },
  // A tool call whose answer became an SSE stream (progress first), closed after the first
  // progress event: the stream stays resumable in its session until the session ends.
  async ssepost() {
    const id = ++serial;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: id } } });
    await inSession((sid) => exchange(post(body, { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': LEGACY }),
      (g) => g.includes('notifications/progress') || notFound(g)));
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
  for (let i = 0; i < n; i += 10) batch.push(...await Promise.all(Array.from({ length: Math.min(10, n - i) }, legacySession)));
  await sleep(1100);
  for (let i = 0; i < n; i += 10) {
    const st = await Promise.all(batch.slice(i, i + 10).map((s) => ping(s.headers)));
    expiredNot404 += st.filter((x) => x !== 404).length;
    expired += st.length;
  }
}

const ONLY = opt('--only');  // one kind alone, for diagnosis
const plan = ONLY ? [ONLY] : TARGET === 'calculator'
  ? ['call', 'call', 'call', 'get', 'get', 'sse', 'sse', 'upload', 'upload', 'get']
  // ssepost holds a worker for its tool's 100 ms: one in 20 keeps the run short.
  : ['call', 'get', 'sse', 'upload', 'hang', 'get', 'hang', 'call', 'sse', 'upload',
    'hang', 'get', 'ssepost', 'call', 'sse', 'hang', 'upload', 'get', 'hang', 'hang'];
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
let hold = false;       // set while figures are taken: the prober waits
let probeBusy = false;
const prober = (async () => {
  while (probing) {
    if (hold) { await sleep(10); continue; }
    probeBusy = true;
    const p = await rpc(server.url, 'server/discover', {}, { timeoutMs: 5000 });
    const [name, args] = quickTool();
    const c = await callTool(server.url, name, args, { timeoutMs: 5000 });
    probes.push({ ping: p.kind, pingMs: p.ms, call: c.kind, callMs: c.ms });
    probeBusy = false;
    await sleep(100);
  }
})();

// Figures at rest: no request running, no idle client connection open (our keep-alive
// connections are closed), and the server done closing what the last events left — wait
// (bounded) until its descriptor count stops falling.
async function atRest() {
  hold = true;
  while (probeBusy) await sleep(5);
  closeConnections();
  let last = procStats(server.pid);
  for (let i = 0; i < 30; ++i) {
    await sleep(100);
    const s = procStats(server.pid);
    if (s.fds >= last.fds && i >= 5) { last = s; break; }
    last = s;
  }
  hold = false;
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
check(probes.length >= 3 && badProbes.length === 0, `all ${probes.length} probes answered correctly within 5 s`, badProbes.slice(0, 5));
const maxProbe = Math.max(...probes.map((p) => Math.max(p.pingMs, p.callMs)));
// The server still answers after everything (and its sessions still work).
const after = await callTool(server.url, ...quickTool());
check(after.kind === 'ok', 'a call after the churn succeeds', after);
if (TARGET === 'fixture') await sleep(1100);  // past the 1 s TTL since the last use
check((await ping(sessions[0].headers)) === (TARGET === 'fixture' ? 404 : 200),
  TARGET === 'fixture' ? 'an idle session expires afterwards too' : 'sessions still work afterwards');

// Every worker stuck in a hanging tool whose clients keep waiting: the transport still answers.
let stuckProbeMs = null;
if (TARGET === 'fixture') {
  const stuck = Array.from({ length: 4 }, () => callTool(server.url, 'slow', {}, { timeoutMs: 3000 }));
  await sleep(200);
  const p = [];
  for (let i = 0; i < 10; ++i) p.push(await rpc(server.url, 'server/discover', {}, { timeoutMs: 2000 }));
  stuckProbeMs = Math.max(...p.map((x) => x.ms));
  check(p.every((x) => x.kind === 'ok'), `with every worker in a hanging tool, the server still answers (max ${round(stuckProbeMs)} ms)`, p);
  const gone = await Promise.all(stuck);
  check(gone.every((x) => x.kind === 'timeout'), 'the hanging calls were still running when their clients gave up');
  const again = await callTool(server.url, ...quickTool(), { timeoutMs: 5000 });
  check(again.kind === 'ok', 'once their clients gave up, the workers serve calls again', again);
}

const figures = { test: 'churn', target: TARGET, events: done, counts: { ...counts, expire: expired }, seconds: round(seconds + (tWarm - t0) / 1000),
  rss_kb: { warm: warm.rssKb, end: end.rssKb }, fds: { warm: warm.fds, end: end.fds }, threads: { warm: warm.threads, end: end.threads },
  probes: probes.length, max_probe_ms: round(maxProbe), stuck_workers_probe_ms: stuckProbeMs && round(stuckProbeMs) };
console.log(JSON.stringify(figures));
if (end.fds !== warm.fds) console.log('descriptors after warm-up:', JSON.stringify(warm.fdKinds), 'at the end:', JSON.stringify(end.fdKinds));
// SQLite keeps one connection (database + WAL file) per thread that used it, opened lazily:
// those are bounded by the (flat) thread count; every other descriptor must be back to its
// warm-up count.
const split = (st) => {
  let db = 0;
  for (const [k, n] of Object.entries(st.fdKinds)) if (k.includes('cache.db')) db += n;
  return { db, other: st.fds - db };
};
const [w0, e0] = [split(warm), split(end)];
check(e0.other <= w0.other + 1, `open descriptors flat: ${w0.other} after warm-up, ${e0.other} after ${done} events (sockets, pipes, event fds)`);
check(e0.db <= 2 * end.threads + 1, `SQLite descriptors bounded by the threads: ${w0.db} -> ${e0.db} (${end.threads} threads)`);
const rssTolerance = Math.max(4096, warm.rssKb * 0.1);
check(end.rssKb - warm.rssKb <= rssTolerance,
  `resident memory flat: ${warm.rssKb} kB after warm-up, ${end.rssKb} kB after ${done} events (tolerance ${Math.round(rssTolerance)} kB)`);
check(end.threads <= warm.threads, `threads flat: ${warm.threads} -> ${end.threads}`);
await server.stop();
console.log(`PASS churn ${TARGET}`);
process.exit(0);
