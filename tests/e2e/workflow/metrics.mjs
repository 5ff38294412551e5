// Metrics of a product server, end to end:
//  - over HTTP: /metrics is guarded like /mcp (Host check, bearer token), speaks the
//    Prometheus text format 0.0.4, and its counters move as calls are made (tool calls by
//    outcome, requests, sessions, HTTP statuses, cache sets, backend latency histograms);
//  - over stdio: the gated get_metrics admin tool returns the same families, usable only with
//    --stdio-admin.
//   node metrics.mjs --calc BIN
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { expect as check, scene, startHttp } from '../harness.mjs';

const args = process.argv.slice(2);
const CALC = args[args.indexOf('--calc') + 1];
const { work, children } = scene('refcache-metrics-', 120);

// A calculator over HTTP on the test's SQLite file; resolves with its origin (http://host:port).
async function start(extra) {
  const { url } = await startHttp(CALC, ['--backend', 'sqlite:' + path.join(work, 'cache.db'), ...extra],
    'calculator', children);
  return url.origin;
}

// GET with arbitrary headers (fetch would not let us set Host).
function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

// Parses the text format strictly enough to catch mistakes: every sample belongs to a family
// announced by HELP and TYPE; returns {samples: Map(series -> value), types: Map(family -> type)}.
function parse(text) {
  const samples = new Map();
  const types = new Map();
  const helps = new Set();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = line.match(/^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) /))) { helps.add(m[1]); continue; }
    if ((m = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/))) {
      if (types.has(m[1])) check(false, 'each family announced once', m[1]);
      types.set(m[1], m[2]);
      continue;
    }
    m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$/);
    if (!m) check(false, 'a well-formed sample line', line);
    const name = m[1];
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family) || !helps.has(family)) check(false, 'sample of an announced family', line);
    if (name !== family && types.get(family) !== 'histogram') check(false, 'suffix only on histograms', line);
    samples.set(name + (m[2] ?? ''), Number(m[3]));
  }
  return { samples, types };
}

function histogramsAreConsistent(samples) {
  // For every _count series: buckets are cumulative and +Inf equals _count.
  for (const [series, count] of samples) {
    const m = series.match(/^(.*)_count(\{.*\})?$/);
    if (!m) continue;
    const labels = m[2] ? m[2].slice(1, -1) : '';
    const prefix = `${m[1]}_bucket{${labels ? labels + ',' : ''}le="`;
    const buckets = [...samples].filter(([k]) => k.startsWith(prefix));
    if (buckets.length === 0) continue;
    let last = -1;
    for (const [, v] of buckets) { if (v < last) return series; last = v; }
    const inf = samples.get(prefix + '+Inf"}');
    if (inf !== count) return series;
  }
  return null;
}

const base = await start(['--bearer-token', 'alice-token=alice', '--bearer-token', 'bob-token=bob', '--admin', 'alice']);
const auth = (t) => ({ Authorization: `Bearer ${t}` });

// --- access -----------------------------------------------------------------------------------
const noToken = await get(base + '/metrics');
check(noToken.status === 401 && /Bearer/.test(noToken.headers['www-authenticate'] ?? ''),
  '/metrics without a token is refused like /mcp (401)', noToken.status);
const badToken = await get(base + '/metrics', auth('nope'));
check(badToken.status === 401, '/metrics with a wrong token is refused', badToken.status);
const badHost = await get(base + '/metrics', { ...auth('bob-token'), Host: 'evil.example' });
check(badHost.status === 403, '/metrics from a foreign Host is refused (DNS rebinding)', badHost.status);
const first = await get(base + '/metrics', auth('bob-token'));
check(first.status === 200 && first.headers['content-type'] === 'text/plain; version=0.0.4; charset=utf-8',
  '/metrics with a token: 200, text format 0.0.4', first.headers);
const before = parse(first.body).samples;

// --- calls ------------------------------------------------------------------------------------
const client = new Client({ name: 'metrics', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(base + '/mcp'),
  { requestInit: { headers: auth('alice-token') } }));
const primes = await client.callTool({ name: 'generate_primes', arguments: { count: 25 } });
check(!primes.isError && primes.structuredContent.ref_id, 'generate_primes ok', primes.structuredContent);
const bad = await client.callTool({ name: 'calculate', arguments: { expression: '2 +* (' } });
check(bad.isError === true, 'calculate with a malformed expression is a tool error', bad);
let protocolError = null;
try { await client.callTool({ name: 'no_such_tool', arguments: {} }); } catch (e) { protocolError = e; }
check(protocolError !== null, 'an unknown tool is a protocol error');
const stats = await client.callTool({ name: 'get_cache_stats', arguments: {} });
check(!stats.isError, 'admin get_cache_stats ok for alice', stats);
const viaTool = await client.callTool({ name: 'get_metrics', arguments: {} });
check(!viaTool.isError && viaTool.content[0].text.includes('# TYPE refcache_cache_sets_total counter'),
  'get_metrics over HTTP for the admin', viaTool.content?.[0]?.text?.slice(0, 200));

const second = await get(base + '/metrics', auth('bob-token'));
const { samples: after, types } = parse(second.body);
const delta = (k) => (after.get(k) ?? NaN) - (before.get(k) ?? 0);
check(delta('mcp_tool_calls_total{tool="generate_primes",outcome="ok"}') === 1, 'tool calls: generate_primes ok +1',
  [before.get('mcp_tool_calls_total{tool="generate_primes",outcome="ok"}'), after.get('mcp_tool_calls_total{tool="generate_primes",outcome="ok"}')]);
check(delta('mcp_tool_calls_total{tool="calculate",outcome="tool_error"}') === 1, 'tool calls: calculate tool_error +1');
check(delta('mcp_tool_calls_total{tool="calculate",outcome="ok"}') === 0, 'tool calls: calculate ok unchanged');
check(delta('mcp_tool_calls_total{tool="get_metrics",outcome="ok"}') === 1, 'tool calls: get_metrics ok +1');
check(delta('mcp_requests_total{method="tools/call"}') === 5, 'requests: tools/call +5 (unknown tool included)',
  delta('mcp_requests_total{method="tools/call"}'));
check(delta('mcp_requests_total{method="initialize"}') === 1, 'requests: initialize +1');
check(delta('mcp_sessions_created_total{transport="streamable_http"}') === 1, 'sessions created +1');
check(after.get('mcp_sessions_active{transport="streamable_http"}') === 1, 'one session active');
check(after.get('mcp_http_responses_total{code="401"}') >= 2 && after.get('mcp_http_responses_total{code="403"}') >= 1,
  'HTTP responses by status count the refusals');
check(delta('refcache_cache_sets_total{backend="sqlite"}') >= 1, 'cache sets moved');
check(delta('refcache_backend_operation_duration_seconds_count{backend="sqlite",op="set"}') >= 1,
  'backend set latency histogram moved');
check(delta('refcache_backend_operation_duration_seconds_count{backend="sqlite",op="find_by_key"}') >= 1,
  'backend find_by_key latency histogram moved (the cached call looked up its key)');
check(after.get('refcache_cache_entries{backend="sqlite"}') >= 1, 'entries gauge');
check(delta('mcp_tool_call_duration_seconds_count{tool="generate_primes"}') === 1, 'tool duration histogram moved');
check(types.get('refcache_backend_operation_duration_seconds') === 'histogram' &&
  types.get('mcp_sessions_active') === 'gauge' && types.get('refcache_cache_hits_total') === 'counter', 'family types');
check(histogramsAreConsistent(after) === null, 'histogram buckets cumulative, +Inf == _count', histogramsAreConsistent(after));
check(!types.has('refcache_backend_circuit_state'), 'no circuit gauge for SQLite (it has no breaker)');
await client.close();

// Non-admins do not get get_metrics; /metrics itself needs only a valid token.
{
  const bob = new Client({ name: 'metrics-bob', version: '1.0.0' });
  await bob.connect(new StreamableHTTPClientTransport(new URL(base + '/mcp'), { requestInit: { headers: auth('bob-token') } }));
  const r = await bob.callTool({ name: 'get_metrics', arguments: {} });
  check(r.isError === true && r.content[0].text.includes('Admin access required'), 'get_metrics refuses non-admins', r);
  await bob.close();
}

// --- --no-metrics -------------------------------------------------------------------------
{
  const off = await start(['--no-metrics']);
  const r = await get(off + '/metrics');
  check(r.status === 404, '--no-metrics: /metrics is not served', r.status);
}

// --- stdio: the gated admin tool --------------------------------------------------------------
async function stdioClient(extra) {
  const c = new Client({ name: 'metrics-stdio', version: '1.0.0' });
  await c.connect(new StdioClientTransport({ command: CALC,
    args: ['--transport', 'stdio', '--backend', 'sqlite:' + path.join(work, 'stdio.db'), ...extra], stderr: 'ignore' }));
  return c;
}
{
  const c = await stdioClient(['--stdio-admin']);
  const p = await c.callTool({ name: 'generate_primes', arguments: { count: 12 } });
  check(!p.isError, 'stdio: generate_primes ok');
  const m = await c.callTool({ name: 'get_metrics', arguments: {} });
  check(!m.isError, 'stdio: get_metrics allowed with --stdio-admin', m);
  const { samples } = parse(m.content[0].text);
  check(samples.get('mcp_tool_calls_total{tool="generate_primes",outcome="ok"}') === 1, 'stdio: the tool call is counted');
  check(samples.get('mcp_sessions_active{transport="stdio"}') === 1, 'stdio: one stdio session');
  check(samples.get('refcache_cache_sets_total{backend="sqlite"}') >= 1, 'stdio: cache sets counted');
  check(histogramsAreConsistent(samples) === null, 'stdio: histograms consistent');
  const del = await c.callTool({ name: 'delete_reference', arguments: { ref_id: p.structuredContent.ref_id } });
  check(!del.isError && del.structuredContent.success === true, 'stdio: other admin tools work with --stdio-admin too', del);
  await c.close();
}
{
  const c = await stdioClient([]);
  const tools = (await c.listTools()).tools.map((t) => t.name);
  check(!tools.includes('get_metrics') && !tools.includes('get_cache_stats'),
    'stdio: without --stdio-admin or --admin the admin tools are not offered', tools);
  const m = await c.callTool({ name: 'get_metrics', arguments: {} }).then((r) => r, (e) => e);
  check(m instanceof Error && /Unknown tool: get_metrics/.test(m.message), 'stdio: get_metrics refused without --stdio-admin', m);
  await c.close();
}
{
  const c = await stdioClient(['--admin', 'alice']);
  const m = await c.callTool({ name: 'get_metrics', arguments: {} });
  check(m.isError === true && m.content[0].text.includes('Admin access required'),
    'stdio: a named admin does not make the stdio client an admin', m);
  await c.close();
}
for (const c of children) check(c.exitCode === null, 'servers still running');
console.log('PASS metrics');
process.exit(0);
