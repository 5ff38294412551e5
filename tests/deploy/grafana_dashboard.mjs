// grafana_dashboard: deploy/grafana/refcache-dashboard.json shows only what the servers export.
//
//   node grafana_dashboard.mjs --calc REFCACHE_CALCULATOR --gateway REFCACHE_GATEWAY
//
// 0. deploy/prometheus.yml scrapes /metrics of every server of deploy/compose.yaml by a
//    service name and port that server accepts.
// 1. The dashboard is a valid classic Grafana dashboard (dashboard_check.mjs checkStructure):
//    ids, gridPos, a Prometheus datasource variable every panel and target uses, job and
//    instance variables, targets with expr.
// 2. The checker itself fails where it must: fed copies of the dashboard with a made-up metric,
//    a histogram named without _bucket, rate() of a gauge, a label the metric lacks, a panel
//    without gridPos or with a fixed datasource, each must be reported.
// 3. Real servers: a redis-server (password, free loopback port); refcache-calculator over HTTP
//    on the memory backend with bearer tokens (one for Prometheus), and refcache-gateway over
//    HTTP on that Redis in front of a stdio refcache-calculator. The official TypeScript
//    client makes tool calls through both (ok, isError, unknown tool, a large result stored as
//    a ref, paging it, an unknown ref) and one request goes without a token (401).
// 4. Both /metrics are scraped with the Prometheus token (and refused without it); every metric
//    name and label each panel and variable query uses must be in what they export
//    (checkMetrics), every exported family must appear on some panel, and the traffic of step 3
//    must show in the counters the panels read.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  checkMetrics, checkStructure, mergeExpositions, parseExposition, selectorsOf, uncoveredFamilies, allPanels,
} from './dashboard_check.mjs';

const argv = process.argv.slice(2);
const arg = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const CALC = arg('--calc');
const GATEWAY = arg('--gateway');
if (!CALC || !GATEWAY) {
  console.error('usage: node grafana_dashboard.mjs --calc BIN --gateway BIN');
  process.exit(2);
}
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const DASHBOARD = path.join(REPO, 'deploy/grafana/refcache-dashboard.json');
const YAML = createRequire(path.join(REPO, 'package.json'))('yaml');

const children = [];
const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-grafana-')));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
});
setTimeout(() => { console.error('FAIL: took longer than 25 s'); process.exit(1); }, 25000);
let failures = 0;
function check(cond, what, detail) {
  if (cond) { console.log(`ok: ${what}`); return; }
  failures++;
  console.log(`FAIL: ${what}${detail === undefined ? '' : `\n  ${[].concat(detail).join('\n  ')}`}`);
}
function fatal(what) { console.log(`FAIL: ${what}`); process.exit(1); }

// Servers get no Redis or token settings from the environment running the test.
const env = { ...process.env };
for (const k of ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD', 'MCP_BEARER_TOKENS', 'MCP_PORT', 'MCP_TRANSPORT', 'MCP_ADMIN_USERS'])
  delete env[k];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startRedis() {
  const port = await freePort();
  const password = 'pw-' + Math.random().toString(36).slice(2);
  const dir = path.join(work, 'redis');
  fs.mkdirSync(dir);
  children.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password,
    '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
  for (let k = 0; k < 50; k++) {
    const r = spawnSync('redis-cli', ['-p', String(port), '-a', password, '--no-auth-warning', 'ping']);
    if (r.stdout?.toString().trim() === 'PONG') return `redis://:${password}@127.0.0.1:${port}/0`;
    await new Promise((res) => setTimeout(res, 100));
  }
  return fatal('redis-server did not start');
}

// Starts an HTTP server and resolves with its /mcp URL once it logs "listening on".
function startHttp(bin, args) {
  const proc = spawn(bin, [...args, '--transport', 'http', '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'], env });
  children.push(proc);
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${path.basename(bin)} did not start: ${err}`)), 15000);
    proc.stderr.on('data', (d) => {
      err += d.toString();
      const m = err.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(t); resolve(new URL(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`${path.basename(bin)} exited with ${code}: ${err}`)); });
  });
}

async function connect(url, token) {
  const c = new Client({ name: 'grafana-dashboard-test', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return c;
}

async function scrape(mcpUrl, token) {
  const url = new URL('/metrics', mcpUrl);
  const refused = await fetch(url);
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, refusedStatus: refused.status, contentType: res.headers.get('content-type'), text };
}

// Sum of the samples of one series name whose labels include `want`.
function valueOf(text, name, want = {}) {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) total += Number(m[4]);
  }
  return total;
}

// Drives calls that touch every kind of counter the panels read.
async function traffic(who, client, prefix, refPrefix) {
  const call = (name, args) => client.callTool({ name: prefix + name, arguments: args });
  const ok = await call('calculate', { expression: '6 * 7' });
  check(ok.isError !== true && ok.structuredContent?.result === 42, `${who}: calculate answers 42`, JSON.stringify(ok));
  const bad = await call('calculate', { expression: '6 *' });
  check(bad.isError === true, `${who}: a bad expression is an isError result`, JSON.stringify(bad));
  const big = await call('generate_primes', { count: 5000 });
  const ref = big.structuredContent?.ref_id;
  check(typeof ref === 'string' && ref.startsWith(refPrefix), `${who}: 5000 primes come back as a ${refPrefix} ref`, JSON.stringify(big).slice(0, 300));
  const page = await call('get_cached_result', { ref_id: ref, page: 2, page_size: 10 });
  check(page.isError !== true, `${who}: the ref pages`, JSON.stringify(page).slice(0, 300));
  const unknown = await call('get_cached_result', { ref_id: `${ref.split(':')[0]}:00000000deadbeef` });
  check(unknown.isError === true, `${who}: an unknown ref is refused`, JSON.stringify(unknown).slice(0, 300));
  let protocolError = false;
  try {
    const r = await client.callTool({ name: `${prefix}no_such_tool`, arguments: {} });
    protocolError = r.isError === true;  // a server may answer an unknown tool either way
  } catch {
    protocolError = true;
  }
  check(protocolError, `${who}: an unknown tool is refused`);
}

// The PromQL reader finds the selectors (and grouping labels) of expressions of every shape the
// dashboard might use.
function parserChecks() {
  const cases = [
    ['histogram_quantile(0.9, sum by (le, tool) (rate(a_seconds_bucket{job="x"}[5m])))', ['a_seconds_bucket'], ['le', 'tool']],
    ['sum(rate(a_total[5m])) by (x) / ignoring(y) group_left(z) b', ['a_total', 'b'], ['x', 'y', 'z']],
    ['{__name__="c_total", job="j"} offset 5m > bool 3', ['c_total'], []],
    ['rate(d_total[$__rate_interval]) and on() vector(1)', ['d_total'], []],
    ['label_replace(e, "dst", "$1", "src", "(.*)") * 1e3', ['e'], []],
    ['max without (op) (f{a=~"x|y", b!="z"}) - min(g)', ['f', 'g'], ['op']],
  ];
  for (const [expr, names, grouping] of cases) {
    const r = selectorsOf(expr);
    const got = { names: r.selectors.map((s) => s.name), grouping: r.grouping, problems: r.problems };
    check(JSON.stringify(got) === JSON.stringify({ names, grouping, problems: [] }), `PromQL reader: ${expr}`, JSON.stringify(got));
  }
  const broken = selectorsOf('sum(rate(a_total{job="x"[5m])');
  check(broken.problems.length > 0, 'PromQL reader: a malformed expression is a problem', JSON.stringify(broken));
}

function selfChecks(dashboard, series) {
  const clone = () => JSON.parse(JSON.stringify(dashboard));
  const firstTarget = (d) => allPanels(d).find((p) => p.targets?.length).targets[0];
  const sel = 'job=~"$job", instance=~"$instance"';
  const cases = [
    ['a made-up metric', (d) => { firstTarget(d).expr = `sum(rate(refcache_tokens_saved_total{${sel}}[5m]))`; }, /refcache_tokens_saved_total, which \/metrics does not export/],
    ['a histogram named without _bucket', (d) => { firstTarget(d).expr = `histogram_quantile(0.9, sum by (le) (rate(mcp_tool_call_duration_seconds{${sel}}[5m])))`; }, /mcp_tool_call_duration_seconds, which .*use mcp_tool_call_duration_seconds_bucket/],
    ['rate() of a gauge', (d) => { firstTarget(d).expr = `rate(refcache_cache_entries{${sel}}[5m])`; }, /rate\(\) of refcache_cache_entries, a gauge/],
    ['a label the metric lacks', (d) => { firstTarget(d).expr = `sum(refcache_cache_entries{${sel}, namespace="sequences"})`; }, /refcache_cache_entries has no label 'namespace'/],
    ['grouping by a label no series has', (d) => { firstTarget(d).expr = `sum by (namespace) (refcache_cache_entries{${sel}})`; }, /groups by 'namespace'/],
    ['a selector ignoring $instance', (d) => { firstTarget(d).expr = 'sum(refcache_cache_entries{job=~"$job"})'; }, /does not select instance/],
    ['a legend naming a label the aggregation drops', (d) => { const t = firstTarget(d); t.expr = `sum by (tool) (rate(mcp_tool_calls_total{${sel}}[5m]))`; t.legendFormat = '{{tool}} {{outcome}}'; }, /legend \{\{outcome\}\}/],
    ['a variable query naming a made-up metric', (d) => { d.templating.list.find((v) => v.name === 'job').query = { query: 'label_values(refcache_made_up_total, job)', refId: 'x' }; }, /variable 'job': names refcache_made_up_total/],
  ];
  for (const [what, mutate, want] of cases) {
    const d = clone();
    mutate(d);
    const problems = checkMetrics(d, series);
    check(problems.some((p) => want.test(p)), `self-check: the checker reports ${what}`, problems.length ? problems : '(no problem reported)');
  }
  const structural = [
    ['a panel without gridPos', (d) => { delete allPanels(d).find((p) => p.type !== 'row').gridPos; }, /gridPos/],
    ['a panel with a fixed datasource', (d) => { allPanels(d).find((p) => p.type !== 'row').datasource = { type: 'prometheus', uid: 'P1809F7CD0C75ACF3' }; }, /is not the datasource variable/],
    ['a repeated panel id', (d) => { const ps = allPanels(d); ps[1].id = ps[0].id; }, /used twice/],
    ['a target without expr', (d) => { delete firstTarget(d).expr; }, /has no expr/],
    ['overlapping panels', (d) => { const ps = allPanels(d).filter((p) => p.type !== 'row'); ps[1].gridPos = { ...ps[0].gridPos }; }, /overlaps/],
  ];
  for (const [what, mutate, want] of structural) {
    const d = clone();
    mutate(d);
    const problems = checkStructure(d);
    check(problems.some((p) => want.test(p)), `self-check: the checker reports ${what}`, problems.length ? problems : '(no problem reported)');
  }
}

// deploy/prometheus.yml scrapes /metrics of every server service of deploy/compose.yaml, by a
// name and port that service answers to (its --allowed-host and --port).
function checkScrapeConfig() {
  const prom = YAML.parse(fs.readFileSync(path.join(REPO, 'deploy/prometheus.yml'), 'utf8'));
  const compose = YAML.parse(fs.readFileSync(path.join(REPO, 'deploy/compose.yaml'), 'utf8'));
  const job = (prom?.scrape_configs ?? []).find((j) => j.job_name === 'refcache');
  check(job !== undefined && (job.metrics_path ?? '/metrics') === '/metrics', 'deploy/prometheus.yml has a refcache job scraping /metrics', JSON.stringify(job));
  const targets = (job?.static_configs ?? []).flatMap((c) => c.targets ?? []);
  const want = [];
  for (const [name, svc] of Object.entries(compose.services ?? {})) {
    const cmd = svc.command ?? [];
    const flag = (f) => cmd.flatMap((a, k) => (a === f ? [String(cmd[k + 1])] : []));
    if (!String(svc.entrypoint ?? '').includes('refcache-')) continue;
    const port = flag('--port')[0];
    check(flag('--allowed-host').includes(name), `compose service ${name} accepts Host ${name} (Prometheus scrapes it by name)`);
    want.push(`${name}:${port}`);
  }
  check(want.length > 0 && JSON.stringify([...targets].sort()) === JSON.stringify(want.sort()),
    `deploy/prometheus.yml targets the compose servers (${want.join(', ')})`, JSON.stringify(targets));
}

async function main() {
  checkScrapeConfig();
  let dashboard;
  try {
    dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  } catch (e) {
    return fatal(`${DASHBOARD}: ${e.message}`);
  }
  const structure = checkStructure(dashboard);
  check(structure.length === 0, `the dashboard is a valid Grafana dashboard (${allPanels(dashboard).length} panels)`, structure);
  const exprs = allPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const names = new Set(exprs.flatMap((e) => selectorsOf(e).selectors.map((s) => s.name)));
  check(names.size >= 20, `the panels' PromQL names ${names.size} series`, [...names].sort());

  const redisUrl = await startRedis();
  const calcToken = 'calc-' + Math.random().toString(36).slice(2);
  const scrapeToken = 'scrape-' + Math.random().toString(36).slice(2);
  const tokens = ['--bearer-token', `${calcToken}=alice`, '--bearer-token', `${scrapeToken}=prometheus`];
  const config = path.join(work, 'mcp.json');
  // The upstream answers in full (no ref of its own), so the gateway stores the large result.
  fs.writeFileSync(config, JSON.stringify({ mcpServers: { calc: { command: CALC, args: ['--backend', 'memory:', '--max-size', '100000000'] } } }));
  const [calcUrl, gatewayUrl] = await Promise.all([
    startHttp(CALC, [...tokens, '--backend', 'memory:']),
    startHttp(GATEWAY, [...tokens, '--config', config, '--backend', redisUrl]),
  ]);
  console.log(`ok: refcache-calculator at ${calcUrl.href} (memory), refcache-gateway at ${gatewayUrl.href} (redis)`);

  const calc = await connect(calcUrl, calcToken);
  await traffic('calculator', calc, '', 'calculator:');
  const gw = await connect(gatewayUrl, calcToken);
  const listed = (await gw.listTools()).tools.map((t) => t.name);
  const primes = listed.find((n) => n.endsWith('generate_primes'));
  check(primes !== undefined, 'the gateway offers the upstream calculator\'s tools', listed);
  if (primes === undefined) process.exit(1);
  // get_cached_result is the gateway's own tool; the upstream's tools carry a prefix.
  const prefix = primes.slice(0, -'generate_primes'.length);
  await traffic('gateway', { callTool: ({ name, arguments: a }) => gw.callTool({ name: name === `${prefix}get_cached_result` ? 'get_cached_result' : name, arguments: a }) }, prefix, 'gateway:');
  const noToken = await fetch(calcUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  check(noToken.status === 401, 'a request without a token is refused 401', String(noToken.status));
  await calc.close();
  await gw.close();

  const scrapes = { calculator: await scrape(calcUrl, scrapeToken), gateway: await scrape(gatewayUrl, scrapeToken) };
  for (const [who, s] of Object.entries(scrapes)) {
    check(s.status === 200 && /^text\/plain/.test(s.contentType ?? ''), `${who}: GET /metrics with the Prometheus token answers text/plain`, `${s.status} ${s.contentType}`);
    check(s.refusedStatus === 401, `${who}: GET /metrics without a token is refused 401`, String(s.refusedStatus));
  }
  const parsed = Object.fromEntries(Object.entries(scrapes).map(([k, s]) => [k, parseExposition(s.text)]));
  const series = mergeExpositions(Object.values(parsed));

  const problems = checkMetrics(dashboard, series);
  check(problems.length === 0, 'every metric and label the panels and variables use is exported', problems);
  const uncovered = uncoveredFamilies(dashboard, series);
  check(uncovered.length === 0, 'every exported metric family is on some panel', uncovered.map((f) => `no panel shows ${f}`));

  // The traffic shows in what the panels read.
  const c = scrapes.calculator.text, g = scrapes.gateway.text;
  check(valueOf(c, 'mcp_tool_calls_total', { tool: 'calculate', outcome: 'ok' }) >= 1, 'calculator: an ok calculate call is counted');
  check(valueOf(c, 'mcp_tool_calls_total', { tool: 'calculate', outcome: 'tool_error' }) >= 1, 'calculator: the isError calculate call is counted');
  check(valueOf(c, 'mcp_tool_call_duration_seconds_count', { tool: 'generate_primes' }) >= 1, 'calculator: generate_primes latency is observed');
  check(valueOf(c, 'refcache_cache_sets_total') >= 1 && valueOf(c, 'refcache_cache_hits_total') >= 1, 'calculator: the ref was stored and read back');
  check(valueOf(c, 'refcache_cache_entries', { backend: 'memory' }) >= 1 && valueOf(c, 'refcache_cache_bytes', { backend: 'memory' }) > 0, 'calculator: entries and bytes held are reported');
  check(valueOf(c, 'mcp_http_responses_total', { code: '401' }) >= 1, 'calculator: the 401 is counted');
  check(valueOf(g, 'refcache_backend_operation_duration_seconds_count', { backend: 'redis', op: 'set' }) >= 1, 'gateway: the Redis set of the intercepted result is timed');
  check(/^refcache_backend_circuit_state\{backend="redis"\} 0$/m.test(g), 'gateway: the Redis circuit breaker is reported closed');
  check(valueOf(g, 'mcp_tool_calls_total', { tool: 'get_cached_result', outcome: 'ok' }) >= 1, 'gateway: its get_cached_result call is counted');

  parserChecks();
  selfChecks(dashboard, series);

  if (failures) {
    console.log(`grafana_dashboard: ${failures} failure(s)`);
    process.exit(1);
  }
  console.log('grafana_dashboard: all checks passed');
  process.exit(0);
}

main().catch((e) => fatal(e.stack ?? String(e)));
