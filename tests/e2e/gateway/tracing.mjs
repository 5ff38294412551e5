// One traced call through refcache-gateway to refcache-calculator, both on one redis-server
// and both writing JSON logs at the debug level, driven by the official TypeScript client
// (@modelcontextprotocol/sdk) over Streamable HTTP with a bearer token:
//   - the client sends a known W3C traceparent in the tools/call's _meta;
//   - every log line the call caused, in both processes, carries that trace id; the gateway's
//     span ids and the calculator's differ (each process serves the call as a span of its own),
//     and neither is the client's;
//   - the calculator's lines name the tool, and its backend operations with ref ids and
//     durations;
//   - a second call without a traceparent gets one new trace id, the same in both processes;
//   - no line holds the bearer token or the Redis password.
// Background work (the change notifiers' watch) is off, so that every line written between the
// start and the end of a call is one that call caused.
//
//   node tracing.mjs --gateway BIN --calc BIN
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHttp, startRedis } from './harness.mjs';

const args = process.argv.slice(2);
const arg = (name) => { const k = args.indexOf(name); return k >= 0 ? args[k + 1] : undefined; };
const GATEWAY = arg('--gateway');
const CALC = arg('--calc');
if (!GATEWAY || !CALC) {
  console.error('usage: node tracing.mjs --gateway BIN --calc BIN');
  process.exit(2);
}

const children = [];
const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-tracing-')));
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
setTimeout(() => { console.error('FAIL: took longer than 120 s'); process.exit(1); }, 120000).unref();
function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail, null, 1).slice(0, 4000));
  process.exit(1);
}
function check(cond, what, detail) { if (!cond) fail(what, detail); }
function step(s) { console.log(`ok: ${s}`); }
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

function parseLines(lines, who) {
  return lines.map((l) => {
    try { return JSON.parse(l); } catch { fail(`${who} wrote a line that is not JSON`, l); }
    return null;
  });
}

// Waits until neither log grows for `quietMs`; returns the line counts.
async function settle(logs, quietMs = 600) {
  let last = logs.map((l) => l.text.length);
  for (let k = 0; k < 100; k++) {
    await sleep(quietMs);
    const now = logs.map((l) => l.text.length);
    if (now.every((n, j) => n === last[j])) return logs.map((l) => l.lines().length);
    last = now;
  }
  fail('the logs never went quiet');
}

// The lines each process wrote while `fn` ran.
async function linesOf(logs, fn) {
  const before = await settle(logs);
  const result = await fn();
  await settle(logs);
  return { result, lines: logs.map((l, j) => l.lines().slice(before[j])) };
}

async function main() {
  const redis = await startRedis(work, children);
  const TOKEN = 'tok-' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  const logFlags = ['--log-format', 'json', '--log-level', 'debug', '--watch-interval', '0'];
  const calc = await startHttp(CALC, ['--backend', redis.url, ...logFlags], 'refcache-calculator', children);
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify({ mcpServers: { calc: { url: calc.url.href } } }));
  const gw = await startHttp(GATEWAY, ['--config', configPath, '--backend', redis.url, '--bearer-token', `${TOKEN}=alice`,
    ...logFlags], 'refcache-gateway', children);
  step(`refcache-calculator (${calc.url.host}) behind refcache-gateway (${gw.url.host}), one redis-server, JSON logs`);

  // Every line either process has written so far is JSON with the fields every line has.
  for (const [who, log] of [['gateway', gw.log], ['calculator', calc.log]])
    for (const o of parseLines(log.lines(), who))
      check(typeof o.time === 'string' && typeof o.level === 'string' && typeof o.message === 'string',
        `${who}: a log line has time, level and message`, o);

  const client = new Client({ name: 'tracing', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(gw.url, { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === 'generate_primes' || t.name === 'calc_generate_primes')?.name;
  check(tool, 'the gateway offers the calculator\'s generate_primes', tools.map((t) => t.name));

  const TRACE = [...Array(32)].map(() => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
  const PARENT = 'b7ad6b7169203331';
  const traceparent = `00-${TRACE}-${PARENT}-01`;
  const logs = [gw.log, calc.log];
  const first = await linesOf(logs, () => client.callTool({ name: tool, arguments: { count: 300 }, _meta: { traceparent, tracestate: 'rc=t1' } }));
  check(first.result.isError !== true, 'the traced call succeeds', first.result);
  const [gwLines, calcLines] = first.lines.map((ls, j) => parseLines(ls, j === 0 ? 'gateway' : 'calculator'));
  check(gwLines.length > 0 && calcLines.length > 0, 'the call wrote log lines in both processes',
    { gateway: gwLines.length, calculator: calcLines.length });
  for (const [who, lines] of [['gateway', gwLines], ['calculator', calcLines]]) {
    const foreign = lines.filter((o) => o.trace_id !== TRACE);
    check(foreign.length === 0, `${who}: every line the call caused carries the client's trace id`, foreign);
    check(lines.every((o) => /^[0-9a-f]{16}$/.test(o.span_id) && o.span_id !== PARENT),
      `${who}: every line has a span id of its own process`, lines);
  }
  const gwSpans = new Set(gwLines.map((o) => o.span_id));
  const calcSpans = new Set(calcLines.map((o) => o.span_id));
  check([...gwSpans].every((s) => !calcSpans.has(s)), 'the gateway\'s span ids and the calculator\'s differ',
    { gateway: [...gwSpans], calculator: [...calcSpans] });
  const ops = calcLines.filter((o) => typeof o.operation === 'string');
  check(ops.length > 0 && ops.every((o) => Number.isInteger(o.duration_us) && o.duration_us >= 0),
    'the calculator logs its backend operations with their durations', calcLines);
  check(ops.some((o) => o.operation === 'set' && typeof o.ref_id === 'string' && o.ref_id.length > 0),
    'a stored result\'s line names its ref id', ops);
  check(calcLines.some((o) => o.tool === 'generate_primes'), 'the calculator\'s lines name the tool', calcLines);
  step(`traced call: ${gwLines.length} gateway lines and ${calcLines.length} calculator lines, all of trace ${TRACE}; ` +
    `spans ${[...gwSpans].join(',')} | ${[...calcSpans].join(',')}; operations ${[...new Set(ops.map((o) => o.operation))].join(',')}`);

  const second = await linesOf(logs, () => client.callTool({ name: tool, arguments: { count: 301 } }));
  check(second.result.isError !== true, 'the untraced call succeeds', second.result);
  const all2 = second.lines.flatMap((ls, j) => parseLines(ls, j === 0 ? 'gateway' : 'calculator'));
  const traces2 = new Set(all2.map((o) => o.trace_id));
  check(second.lines.every((ls) => ls.length > 0) && traces2.size === 1 && !traces2.has(TRACE) && !traces2.has(undefined),
    'a call without a traceparent gets one new trace id, the same in both processes', [...traces2]);
  step(`untraced call: one new trace ${[...traces2][0]} in both processes`);

  await client.close();
  const everything = gw.log.text + calc.log.text;
  check(!everything.includes(TOKEN), 'no log line holds the bearer token');
  check(!everything.includes(redis.password), 'no log line holds the Redis password');
  step('no log line holds the bearer token or the Redis password');
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => fail('unexpected error', String(e?.stack ?? e)));
