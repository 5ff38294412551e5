// The dashboard in a real browser: Debian's chromium, headless, driven by puppeteer-core.
// Two servers (calculator A, data-analysis B) share a password-protected redis-server started
// here; alice is an administrator, bob a bearer user who is not. Real traffic goes through MCP
// (the official TypeScript SDK 1.x), then the page served by A must show:
//   - the figures of get_cache_stats and /metrics taken at the same quiescent moment;
//   - the stored ref among the largest and most read (its id, never its value), tokens saved;
//   - in its live feed, the deletion of A's ref made through B, within a bounded wait;
//   - the refusal when opened with bob's token (403) or an unknown one (401), which the data
//     endpoint also answers to plain requests (and 401 without a token).
// The gateway (on the same redis-server, the calculator as its stdio upstream) serves the same
// page and gating. The page is saved as a screenshot (--screenshot PATH, printed).
//   node dashboard.mjs --calc BIN --analysis BIN --gateway BIN --screenshot PNG
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import puppeteer from 'puppeteer-core';

const args = process.argv.slice(2);
const opt = (n) => { const i = args.indexOf(n); return i < 0 ? undefined : args[i + 1]; };
const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
const GATEWAY = opt('--gateway');
const SCREENSHOT = opt('--screenshot');
const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'admin-' + Math.random().toString(36).slice(2);
const USER = 'user-' + Math.random().toString(36).slice(2);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-dashboard-'));
const children = [];
let browser = null;

function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
setTimeout(() => { console.error('FAIL: took longer than 150 s'); process.exit(1); }, 150000).unref();

async function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail).slice(0, 3000));
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
async function check(cond, what, detail) {
  if (!cond) await fail(what, detail);
  console.log(`ok: ${what}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startRedis() {
  const port = await freePort();
  const password = 'dash-' + Math.random().toString(36).slice(2);
  const dir = path.join(work, 'redis');
  fs.mkdirSync(dir);
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password,
    '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  children.push(proc);
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), '-a', password, '--no-auth-warning', 'ping']);
    if (r.stdout?.toString().trim() === 'PONG') return `redis://:${password}@127.0.0.1:${port}/0`;
    await sleep(50);
  }
  await fail('redis-server started');
}

function start(bin, backend, pre = []) {
  const proc = spawn(bin, [...pre, '--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--backend', backend,
    '--bearer-token', `${ADMIN}=alice`, '--bearer-token', `${USER}=bob`, '--admin', 'alice'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line within 20 s: ${err}`)), 20000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    proc.on('exit', (c) => reject(new Error(`exit ${c}: ${err}`)));
  });
}

async function connect(base, token) {
  const client = new Client({ name: 'dashboard-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(base + '/mcp'),
    { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return client;
}

async function call(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  const text = r.content?.[0]?.text ?? '';
  try { return JSON.parse(text); } catch { return { text, isError: r.isError }; }
}

// The counters of /metrics (labels ignored: one backend per server).
async function metrics(base) {
  const res = await fetch(base + '/metrics', { headers: { Authorization: `Bearer ${ADMIN}` } });
  const text = await res.text();
  const out = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^(refcache_cache_[a-z_]+)(?:\{[^}]*\})? (-?[0-9.e+]+)$/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const shown = (n) => (n === null || n === undefined || n < 0) ? 'n/a' : Number(n).toLocaleString('en-US');
const text = (page, id) => page.$eval('#' + id, (e) => e.textContent);

async function waitFor(what, ms, fn) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(200);
  }
  await fail(what + ` within ${ms} ms`, last);
}

// --- servers and traffic ------------------------------------------------------------------------
await check(fs.existsSync(CHROMIUM), `${CHROMIUM} exists (scripts/setup installs chromium)`);
const redis = await startRedis();
const A = await start(CALC, redis);
const B = await start(ANALYSIS, redis);
console.log(`servers: A ${A}, B ${B}`);

const a = await connect(A, ADMIN);
const primes = await call(a, 'generate_primes', { count: 2000 });
await check(typeof primes.ref_id === 'string', 'A stored a ref for generate_primes(2000)', primes);
const ref = primes.ref_id;
for (let i = 0; i < 3; i++) {
  const page = await call(a, 'get_cached_result', { ref_id: ref, page: i + 1, page_size: 10 });
  await check(page.ref_id === ref || page.preview !== undefined, `read ${i + 1} of the ref`, page);
}
const small = await call(a, 'generate_fibonacci', { count: 20 });
await check(small.ref_id !== undefined || small.value !== undefined, 'A answered generate_fibonacci(20)', small);
const missing = await call(a, 'get_cached_result', { ref_id: 'calculator:0000000000000000' });
await check(missing.error !== undefined || missing.isError, 'a missing ref is a miss', missing);

// --- the data endpoint's gating, without a browser -------------------------------------------------
{
  const none = await fetch(A + '/dashboard/data');
  await check(none.status === 401, 'no token: /dashboard/data answers 401', none.status);
  const bad = await fetch(A + '/dashboard/data', { headers: { Authorization: 'Bearer nope' } });
  await check(bad.status === 401, 'an unknown token: 401', bad.status);
  const bob = await fetch(A + '/dashboard/data', { headers: { Authorization: `Bearer ${USER}` } });
  await check(bob.status === 403, 'a user who is not an admin: 403', bob.status);
  const evil = await fetch(A + '/dashboard', { headers: { Origin: 'http://evil.example' } });
  await check(evil.status === 403, 'a foreign Origin: 403 (DNS-rebinding protection)', evil.status);
  const data = await fetch(A + '/dashboard/data', { headers: { Authorization: `Bearer ${ADMIN}` } });
  const body = await data.text();
  await check(data.status === 200 && !body.includes('"value"') && !body.includes('7919'),
    'the admin gets the data, without any value (no 7919, the 1000th prime)', body.slice(0, 300));
}

// --- the page ----------------------------------------------------------------------------------------
browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  defaultViewport: { width: 1400, height: 1100 },
  timeout: 30000,
});
const page = await browser.newPage();
// The page must load nothing but itself and its data from the server that served it.
const foreign = [];
page.on('request', (r) => { if (!r.url().startsWith(A + '/') && !r.url().startsWith('data:')) foreign.push(r.url()); });
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

await page.goto(`${A}/dashboard#token=${ADMIN}`, { waitUntil: 'load', timeout: 20000 });
await waitFor('the page shows the cache figures', 10000,
  async () => (await text(page, 'entries')) !== '-' && (await text(page, 'hits')) !== '-');
await check(!(await page.url()).includes(ADMIN), 'the token left the address bar');

// Quiescent: no polling, no traffic. get_cache_stats, /metrics, then one refresh of the page.
await page.evaluate(() => window.refcacheDashboard.pause());
await sleep(300);
const stats = await call(a, 'get_cache_stats', {});
const m = await metrics(A);
await page.evaluate(() => window.refcacheDashboard.refresh());
const fig = {};
for (const id of ['entries', 'hits', 'misses', 'stores', 'deletes', 'tokens-saved']) fig[id] = await text(page, id);
console.log('page:', JSON.stringify(fig), 'get_cache_stats:', JSON.stringify(
  { entries: stats.entries, hits: stats.hits, misses: stats.misses, sets: stats.sets, deletes: stats.deletes }));
await check(stats.hits > 0 && stats.misses > 0 && stats.sets > 0, 'the traffic made hits, misses and stores', stats);
await check(fig.hits === shown(stats.hits) && fig.hits === shown(m.refcache_cache_hits_total),
  'hits shown = get_cache_stats = /metrics', { fig, stats, m });
await check(fig.misses === shown(stats.misses) && fig.misses === shown(m.refcache_cache_misses_total),
  'misses shown = get_cache_stats = /metrics', { fig, stats, m });
await check(fig.stores === shown(stats.sets) && fig.stores === shown(m.refcache_cache_sets_total),
  'stores shown = get_cache_stats = /metrics', { fig, stats, m });
await check(fig.entries === shown(stats.entries) &&
  (stats.entries < 0 || fig.entries === shown(m.refcache_cache_entries)),
'entries shown = get_cache_stats = /metrics', { fig, stats, m });
// Tokens saved: over the stores, full size less preview size, as the tools answered them.
const saved = [primes, small].reduce((n, r) => n + (r.original_size !== undefined ? r.original_size - r.preview_size : 0), 0);
await check(saved > 0 && fig['tokens-saved'] === shown(saved),
  `tokens saved shown = the stores' original_size - preview_size (${saved})`, { fig, saved });
const largest = await page.$eval('#largest', (e) => e.textContent);
const mostRead = await page.$eval('#most-read', (e) => e.textContent);
await check(largest.includes(ref) && mostRead.includes(ref), 'the ref is among the largest and the most read', { largest, mostRead });
const namespaces = await page.$eval('#namespaces', (e) => e.textContent);
const info = await call(a, 'get_reference_info', { ref_id: ref });
await check(typeof info.namespace === 'string' && namespaces.includes(info.namespace),
  `the namespaces panel lists the ref's namespace (${info.namespace})`, { namespaces, info });
const circuit = await text(page, 'circuit');
await check(circuit === 'closed', 'backend health: Redis circuit breaker closed', circuit);
const whole = await page.$eval('body', (e) => e.innerText);
await check(!whole.includes('7919'), 'no value on the page (no 7919)');

// A change through the OTHER server appears in A's live feed (polling again).
await page.evaluate(() => window.refcacheDashboard.resume());
const b = await connect(B, ADMIN);
const del = await call(b, 'delete_reference', { ref_id: ref });
await check(JSON.stringify(del).includes('true') || JSON.stringify(del).toLowerCase().includes('deleted'),
  'B deleted A\'s ref', del);
const line = await waitFor('the deletion made through B appears in A\'s live feed', 10000, async () => {
  const feed = await page.$eval('#feed', (e) => e.textContent);
  return feed.includes('deleted') && feed.includes(ref) ? feed : false;
});
console.log('feed:', line.slice(0, 200));

if (SCREENSHOT) {
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await check(fs.statSync(SCREENSHOT).size > 10000, `screenshot saved: ${SCREENSHOT}`);
}
await check(foreign.length === 0, 'the page requested nothing from elsewhere', foreign);
await check(consoleErrors.length === 0, 'no script errors on the page', consoleErrors);

// The refusals, as the page shows them.
for (const [token, status] of [[USER, '403'], ['not-a-token', '401']]) {
  const p = await browser.newPage();
  await p.goto(`${A}/dashboard#token=${token}`, { waitUntil: 'load', timeout: 20000 });
  const shownError = await waitFor(`the page shows the ${status} refusal`, 10000, async () => {
    const e = await p.$eval('#error', (el) => (el.hidden ? '' : el.textContent));
    return e.includes(status) ? e : false;
  });
  const panels = await p.$eval('#panels', (el) => el.hidden);
  const login = await p.$eval('#login', (el) => el.hidden);
  await check(panels && !login, `${status}: no panel shown, the token form instead ("${shownError}")`);
  await p.close();
}
{
  const p = await browser.newPage();
  await p.goto(`${A}/dashboard`, { waitUntil: 'load', timeout: 20000 });
  await waitFor('without a token the page asks for one', 5000, () => p.$eval('#login', (el) => !el.hidden));
  await p.close();
}

// The gateway serves the dashboard too.
{
  const config = path.join(work, 'gateway.json');
  fs.writeFileSync(config, JSON.stringify({ mcpServers: { calc: { command: CALC, args: ['--backend', 'memory:'] } } }));
  const G = await start(GATEWAY, redis, ['--config', config]);
  const none = await fetch(G + '/dashboard/data');
  const bob = await fetch(G + '/dashboard/data', { headers: { Authorization: `Bearer ${USER}` } });
  const alice = await fetch(G + '/dashboard/data', { headers: { Authorization: `Bearer ${ADMIN}` } });
  const d = await alice.json();
  await check(none.status === 401 && bob.status === 403 && alice.status === 200 && d.server === 'refcache-gateway',
    'the gateway serves /dashboard/data with the same gating', { none: none.status, bob: bob.status, alice: alice.status, server: d.server });
  const p = await browser.newPage();
  await p.goto(`${G}/dashboard#token=${ADMIN}`, { waitUntil: 'load', timeout: 20000 });
  await waitFor('the gateway\'s page shows its figures', 10000, async () => (await text(p, 'server')).startsWith('refcache-gateway'));
  await p.close();
}

await a.close();
await b.close();
await browser.close();
browser = null;
console.log('PASS');
process.exit(0);
