// Attacks on the SDK's HTTP transport and scheduling, with the official TypeScript client as
// the victim that must still be served:
//   sessions     one bearer user (and one anonymous peer) floods initialize; another user
//                (another peer) still connects and calls a tool
//   ownership    user B holding user A's session id gets 403/404 on GET and DELETE /mcp, and
//                A's session keeps working
//   slowloris    connections that send half a header, trickle one, or send nothing are
//                closed after the header deadline while a normal client is served
//   descriptors  under a 64-descriptor limit, connections until accept fails: the server
//                stays nearly idle (no accept busy loop) and serves again once they close
//   fairness     a hostile user keeps many slow calls running; another user's 250 fast calls
//                keep a p99 under 100 ms
//
//   node security.mjs sessions|ownership|slowloris|descriptors|fairness FIXTURE_BIN
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { check, withTimeout } from './lib.mjs';

const [kind, bin] = process.argv.slice(2);
const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';
const modernMeta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });
setTimeout(() => { console.error(`FAIL: security ${kind} took longer than 150 s`); process.exit(1); }, 150000).unref();

// Starts the fixture (optionally through a wrapper such as prlimit) and waits for its URL.
function start(args, wrapper = []) {
  const argv = [...wrapper, bin, '--transport', 'http', '--host', '127.0.0.1', '--port', '0', ...args];
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  let err = '';
  const ready = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start: ' + err)), 10000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/listening on (http:\/\/127\.0\.0\.1:(\d+))\/mcp/);
      if (m) { clearTimeout(t); resolve({ base: m[1], port: Number(m[2]) }); }
    });
    proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${err}`)));
  });
  return ready.then(({ base, port }) => ({
    base, port, proc, pid: proc.pid,
    stderr: () => err,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    stop: () => new Promise((r) => { if (proc.exitCode !== null) return r(); proc.on('exit', r); proc.kill('SIGTERM'); }),
  }));
}

// One HTTP request on a connection of its own; resolves with the status, headers and body
// (or {error}) and never waits longer than `timeoutMs`. An SSE answer resolves at its headers.
function request(base, { method = 'POST', path = '/mcp', headers = {}, body, localAddress, timeoutMs = 10000 }) {
  const u = new URL(base);
  return new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, agent: false, localAddress,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      if (/text\/event-stream/.test(res.headers['content-type'] ?? '')) {
        resolve({ status: res.statusCode, headers: res.headers, sse: true });
        res.destroy();
        return;
      }
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch {}
        resolve({ status: res.statusCode, headers: res.headers, body: json, text: data });
      });
    });
    req.setTimeout(timeoutMs, () => { req.destroy(); resolve({ error: 'timeout' }); });
    req.on('error', (e) => resolve({ error: e.code ?? e.message }));
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

const initBody = { jsonrpc: '2.0', id: 0, method: 'initialize',
  params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'security', version: '1' } } };

// The official client (legacy era, Streamable HTTP), with a bearer token if given.
async function connectClient(base, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(base + '/mcp'), { requestInit: { headers } });
  const client = new Client({ name: 'security-victim', version: '1.0.0' });
  await withTimeout(client.connect(transport), 10000, 'connect');
  return { client, transport };
}

// Sends `n` initialize requests, `wave` at a time; returns the count of each status.
async function flood(base, n, { headers = {}, localAddress } = {}) {
  const statuses = {};
  for (let i = 0; i < n; i += 50) {
    const rs = await Promise.all(Array.from({ length: Math.min(50, n - i) },
      () => request(base, { headers, body: initBody, localAddress })));
    for (const r of rs) statuses[r.status ?? r.error] = (statuses[r.status ?? r.error] ?? 0) + 1;
  }
  return statuses;
}

if (kind === 'sessions') {
  // Authenticated: the flood comes from one bearer user.
  const s = await start(['--bearer-token', 'flood-token=flooder', '--bearer-token', 'good-token=victim']);
  const statuses = await flood(s.base, 1100, { headers: { authorization: 'Bearer flood-token' } });
  console.log('flooder initialize statuses:', JSON.stringify(statuses));
  check((statuses[503] ?? 0) > 0, 'the flooding user is refused beyond its own cap (503)', statuses);
  let victim;
  try {
    victim = await connectClient(s.base, 'good-token');
  } catch (e) {
    check(false, 'another user connects with the official client during the flood', String(e));
  }
  const r = await withTimeout(victim.client.callTool({ name: 'whoami', arguments: {} }), 10000, 'whoami');
  check(r.structuredContent?.principal === 'victim' && victim.transport.sessionId?.length >= 32,
    'another user connects with the official client and calls a tool', r);
  await victim.client.close();
  check(s.alive(), 'server alive after the flood');
  await s.stop();

  // Unauthenticated: the flood comes from one peer address (127.0.0.2), the victim from another.
  const a = await start([]);
  const anon = await flood(a.base, 1100, { localAddress: '127.0.0.2' });
  console.log('anonymous flood (127.0.0.2) statuses:', JSON.stringify(anon));
  check((anon[503] ?? 0) > 0, 'the flooding peer is refused beyond its own cap (503)', anon);
  try {
    victim = await connectClient(a.base);
  } catch (e) {
    check(false, 'a client from another address connects during the flood', String(e));
  }
  const r2 = await withTimeout(victim.client.callTool({ name: 'fast', arguments: {} }), 10000, 'fast');
  check(r2.content?.[0]?.text === 'fast', 'a client from another address connects and calls a tool', r2);
  await victim.client.close();
  await a.stop();
} else if (kind === 'ownership') {
  const s = await start(['--bearer-token', 'alice-token=alice', '--bearer-token', 'bob-token=bob']);
  const alice = await connectClient(s.base, 'alice-token');
  const sid = alice.transport.sessionId;
  check(sid?.length >= 32, 'alice has a legacy session', sid);
  const bob = { authorization: 'Bearer bob-token', 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY };
  const denied = (r) => r.status === 403 || r.status === 404;
  let r = await request(s.base, { method: 'GET', headers: { ...bob, accept: 'text/event-stream' } });
  check(denied(r), "bob's GET /mcp with alice's session id -> 403/404 (no takeover of her stream)", r);
  r = await request(s.base, { method: 'GET', headers: { ...bob, accept: 'text/event-stream', 'last-event-id': 'abc-1' } });
  check(denied(r), "bob's GET /mcp resuming a stream of alice's session -> 403/404", r);
  r = await request(s.base, { method: 'DELETE', headers: bob });
  check(denied(r), "bob's DELETE /mcp of alice's session -> 403/404", r);
  r = await request(s.base, { headers: bob, body: { jsonrpc: '2.0', id: 5, method: 'ping' } });
  check(denied(r), "bob's POST with alice's session id -> 403/404", r);
  const w = await withTimeout(alice.client.callTool({ name: 'whoami', arguments: {} }), 10000, 'whoami');
  check(w.structuredContent?.principal === 'alice' && w.structuredContent?.session === sid,
    "alice's session still works after bob's attempts", w);
  const aliceHeaders = { authorization: 'Bearer alice-token', 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY };
  r = await request(s.base, { method: 'GET', headers: { ...aliceHeaders, accept: 'text/event-stream' } });
  check(r.status === 200 && r.sse, 'alice opens her own GET stream', r);
  r = await request(s.base, { method: 'DELETE', headers: aliceHeaders });
  check(r.status === 200, 'alice ends her own session', r);
  await alice.client.close().catch(() => {});
  await s.stop();
} else if (kind === 'slowloris') {
  const s = await start([]);
  // Each attacker resolves with the seconds until the server closed its connection.
  const attacker = (what, onConnect) => new Promise((resolve) => {
    const t0 = Date.now();
    const sock = net.connect({ host: '127.0.0.1', port: s.port });
    let timer = null;
    sock.on('connect', () => { timer = onConnect(sock); });
    const done = () => { clearInterval(timer); resolve({ what, seconds: (Date.now() - t0) / 1000 }); };
    sock.on('close', done);
    sock.on('error', () => {});
    sock.on('data', () => {});
    setTimeout(() => { sock.destroy(); }, 25000).unref();
  });
  const half = attacker('half a header, then silence', (sock) => {
    sock.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\n`);
    return null;
  });
  const trickle = attacker('one header byte a second', (sock) => {
    const text = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`;
    let i = 0;
    return setInterval(() => { if (i < text.length && !sock.destroyed) sock.write(text[i++]); }, 1000);
  });
  const silent = attacker('nothing at all', () => null);
  // Meanwhile an ordinary client is served.
  await sleep(500);
  const victim = await connectClient(s.base);
  const r = await withTimeout(victim.client.callTool({ name: 'fast', arguments: {} }), 10000, 'fast');
  check(r.content?.[0]?.text === 'fast', 'a normal client is served while the slow connections hang', r);
  await victim.client.close();
  for (const x of await Promise.all([half, trickle, silent])) {
    console.log(`${x.what}: closed after ${x.seconds.toFixed(1)} s`);
    check(x.seconds < 15, `the connection sending ${x.what} is closed by the header deadline`, x);
  }
  check(s.alive(), 'server alive');
  await s.stop();
} else if (kind === 'descriptors') {
  // (Not meaningful under UBSan: its runtime needs a descriptor to check memory and reports a
  // false "invalid vptr" when there is none.)
  const s = await start([], ['prlimit', '--nofile=64:64', '--']);
  const cpuSeconds = () => {
    const f = fs.readFileSync(`/proc/${s.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;  // utime + stime, in clock ticks of 10 ms
  };
  const comm = fs.readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim();
  check(comm.startsWith('mcp-security'), 'the measured process is the server itself', comm);
  // Connections until the server has no descriptor left; the rest wait in the listen queue.
  const socks = [];
  for (let i = 0; i < 120; ++i) {
    const c = net.connect({ host: '127.0.0.1', port: s.port });
    c.on('error', () => {});
    socks.push(c);
  }
  await Promise.all(socks.map((c) => new Promise((r) => { c.once('connect', r); c.once('error', r); setTimeout(r, 3000); })));
  await sleep(500);
  const c0 = cpuSeconds();
  await sleep(2000);
  const used = cpuSeconds() - c0;
  console.log(`server CPU over 2 s with its descriptors exhausted: ${used.toFixed(2)} s`);
  check(used < 0.4, 'no busy accept loop while descriptors are exhausted (CPU < 20% of a core)', used);
  const lines = s.stderr().split('\n').filter((l) => /out of file descriptors/.test(l));
  check(lines.length >= 1 && lines.length <= 3, 'a rate-limited log line says why accepting stopped', lines);
  for (const c of socks) c.destroy();
  let served = null;
  let last = null;
  for (let i = 0; i < 50 && !served; ++i) {
    const r = await request(s.base, { headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'fast' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fast', arguments: {}, _meta: modernMeta } }, timeoutMs: 3000 });
    last = r;
    if (r.status === 200) served = r;
    else await sleep(100);
  }
  check(served?.body?.result?.content?.[0]?.text === 'fast', 'serves again once the connections closed',
    { answer: served ?? last, alive: s.alive(), stderr: s.stderr().slice(-2000) });
  check(s.alive(), 'server alive');
  await s.stop();
} else if (kind === 'fairness') {
  const s = await start(['--workers', '2', '--bearer-token', 'hostile-token=hostile', '--bearer-token', 'good-token=victim']);
  // The hostile user keeps 12 slow calls (10 s each) in flight, more than there are workers.
  const hostile = [];
  const hostileHeaders = { authorization: 'Bearer hostile-token', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'slow' };
  for (let i = 0; i < 12; ++i) {
    const u = new URL(s.base);
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/mcp', agent: false,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...hostileHeaders } });
    req.on('error', () => {});
    req.end(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'slow', arguments: { ms: 10000 }, _meta: modernMeta } }));
    hostile.push(req);
  }
  await sleep(300);  // the slow calls hold their workers now
  const victim = await connectClient(s.base, 'good-token');
  // A call that does not come back within 15 s fails the test (the slow calls take 10 s).
  const call = () => withTimeout(victim.client.callTool({ name: 'fast', arguments: {} }), 15000, 'fast call')
    .catch((e) => check(false, "another user's fast call is answered while the hostile calls run", String(e)));
  for (let i = 0; i < 20; ++i) await call();
  const lat = [];
  for (let i = 0; i < 250; ++i) {
    const t0 = process.hrtime.bigint();
    const r = await call();
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.content?.[0]?.text !== 'fast') check(false, 'fast call answered', r);
  }
  lat.sort((x, y) => x - y);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  console.log(`victim's 250 fast calls under a hostile user's slow calls: p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${lat[lat.length - 1].toFixed(1)} ms`);
  check(q(0.99) < 100, "another user's fast calls keep a p99 under 100 ms", q(0.99));
  for (const req of hostile) req.destroy();
  await victim.client.close();
  check(s.alive(), 'server alive');
  await s.stop();
} else {
  console.error('usage: node security.mjs sessions|ownership|slowloris|descriptors|fairness FIXTURE_BIN');
  process.exit(2);
}
console.log('PASS security', kind);
process.exit(0);
