// The cross-server workflow of the user's design note, run with the official TypeScript MCP
// client against our two servers sharing one cache:
//   generate_primes(50) on the calculator -> analyze_data(ref) on data-analysis ->
//   transform_data(ref, "normalize") -> generate_fibonacci(30) -> list_shared_cache(),
//   then query_cached_result(ref, sql) on the primes instead of paging them
// It prints each step readably and checks every answer. It is the main job (scripts/run) and
// an e2e test (ctest label e2e) over Streamable HTTP, legacy SSE through mcp-remote, and stdio,
// on SQLite and on Redis with a password.
//
//   node workflow.mjs --calc BIN --analysis BIN [--mode http|sse|stdio] [--backend sqlite|redis]
//                     [--isolation] [--repo ROOT]
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { check, fail, REPO as HERE, scene, startHttp, startRedis } from '../harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
const MODE = opt('--mode', 'http');
const BACKEND = opt('--backend', 'sqlite');
const ISOLATION = args.includes('--isolation');
const REPO = opt('--repo', HERE);
if (!CALC || !ANALYSIS) {
  console.error('usage: node workflow.mjs --calc BIN --analysis BIN [--mode http|sse|stdio] [--backend sqlite|redis] [--isolation]');
  process.exit(2);
}

const { work, children } = scene('refcache-workflow-', 120);

// A server over HTTP on `backendUrl`; resolves with its origin (http://host:port).
async function startHttpServer(bin, backendUrl, extra = []) {
  const { url } = await startHttp(bin, ['--backend', backendUrl, ...extra], path.basename(bin), children);
  return { base: url.origin };
}

async function connect(name, bin, backendUrl, extra = []) {
  let transport;
  let server = null;
  if (MODE === 'stdio') {
    transport = new StdioClientTransport({ command: bin, args: ['--backend', backendUrl, ...extra], stderr: 'ignore' });
  } else {
    server = await startHttpServer(bin, backendUrl, extra);
    if (MODE === 'http') {
      transport = new StreamableHTTPClientTransport(new URL(server.base + '/mcp'));
    } else {
      transport = new StdioClientTransport({
        command: process.execPath,
        args: [path.join(REPO, 'node_modules/mcp-remote/dist/proxy.js'), server.base + '/sse', '--transport', 'sse-only'],
        stderr: 'ignore',
        env: { ...process.env, MCP_REMOTE_CONFIG_DIR: path.join(work, 'mcp-remote-' + name) },
      });
    }
  }
  const client = new Client({ name: `workflow-${name}`, version: '1.0.0' });
  await client.connect(transport);
  return { client, server };
}

// Calls a tool and returns its structuredContent; checks the text mirror says the same.
async function call(client, name, toolArgs, { expectError = false } = {}) {
  const r = await client.callTool({ name, arguments: toolArgs }, undefined, { timeout: 60000 });
  if (!!r.isError !== expectError) fail(`${name} ${expectError ? 'should fail' : 'failed'}`, r);
  const text = r.content.find((c) => c.type === 'text')?.text;
  if (!expectError) check(JSON.stringify(JSON.parse(text)) === JSON.stringify(r.structuredContent),
    `${name}: the text block mirrors structuredContent`, r);
  return { sc: r.structuredContent, content: r.content, text };
}

function show(step, what, detail) {
  console.log(`\n${step}. ${what}`);
  if (detail !== undefined) console.log('   ' + detail);
}
const brief = (v) => { const s = JSON.stringify(v); return s.length > 160 ? s.slice(0, 157) + '...' : s; };

// Full value of a response (small ones carry it; large ones are fetched).
async function valueOf(client, sc) {
  if (sc.is_complete) return sc.value;
  const full = await call(client, 'get_cached_result', { ref_id: sc.ref_id, full: true });
  return full.sc.value;
}

const backendUrl = BACKEND === 'redis' ? (await startRedis(work, children)).url : 'sqlite:' + path.join(work, 'cache.db');
console.log(`refcache workflow: two servers sharing one ${BACKEND === 'redis' ? 'Redis (password)' : 'SQLite'} cache, ` +
  `over ${MODE === 'http' ? 'Streamable HTTP' : MODE === 'sse' ? 'legacy SSE via mcp-remote' : 'stdio'}`);

const calcExtra = ISOLATION ? ['--namespace-template', 'session:{session_id}'] : [];
const calc = await connect('calculator', CALC, backendUrl, calcExtra);
const analysis = await connect('data-analysis', ANALYSIS, backendUrl, ['--query-memory', '8']);

if (ISOLATION) {
  // A ref in the calculator client's session namespace is refused to another session.
  const primes = await call(calc.client, 'generate_primes', { count: 50 });
  const ref = primes.sc.ref_id;
  show(1, `calculator.generate_primes(count=50) in namespace session:<calculator session> -> ${ref}`);
  const own = await call(calc.client, 'get_cached_result', { ref_id: ref, page: 1, page_size: 5 });
  check(JSON.stringify(own.sc.preview) === '[2,3,5,7,11]', 'the creating session reads its ref', own.sc);
  show(2, 'calculator.get_cached_result(ref, page=1, page_size=5) in the same session', brief(own.sc.preview));
  const other = await call(analysis.client, 'analyze_data', { data: ref }, { expectError: true });
  check(other.text === `Invalid or inaccessible reference: ${ref}`, 'another session gets the opaque error', other);
  show(3, `data-analysis.analyze_data(${ref}) from another session`, other.text);
  const direct = await call(analysis.client, 'get_cached_result', { ref_id: ref }, { expectError: true });
  check(direct.sc.error === 'Invalid or inaccessible reference' && !('value' in direct.sc) && !('preview' in direct.sc),
    'get_cached_result from another session is refused without the value', direct.sc);
  const listed = await call(analysis.client, 'list_shared_cache', {});
  check(!listed.sc.references.some((r) => r.key === ref), 'the ref is not listed to another session', listed.sc);
  let readError = null;
  try { await analysis.client.readResource({ uri: `refcache://${ref}` }); } catch (e) { readError = e; }
  check(readError !== null, 'resources/read of the ref from another session fails', readError);
  show(4, 'get_cached_result, list_shared_cache and resources/read from another session reveal nothing');
  console.log(`\nPASS workflow isolation ${MODE} ${BACKEND}`);
} else {
  const primes = await call(calc.client, 'generate_primes', { count: 50 });
  const ref1 = primes.sc.ref_id;
  check(/^calculator:[0-9a-f]{16}$/.test(ref1), 'generate_primes returns a calculator ref', primes.sc);
  const primeValues = await valueOf(calc.client, primes.sc);
  check(primeValues.length === 50 && primeValues[0] === 2 && primeValues[49] === 229, 'the first 50 primes', primeValues);
  show(1, `calculator.generate_primes(count=50) -> ${ref1}`, `${primes.sc.total_items} items: ${brief(primeValues)}`);

  const stats = await call(analysis.client, 'analyze_data', { data: ref1 });
  const s = stats.sc.value;
  check(s.count === 50 && s.sum === 5117 && s.min === 2 && s.max === 229 && s.median === 99,
    'analyze_data reads the calculator ref from the shared cache', stats.sc);
  show(2, `data-analysis.analyze_data(data="${ref1}")`,
    `count=${s.count} sum=${s.sum} mean=${s.mean} min=${s.min} max=${s.max} median=${s.median} std=${s.std.toFixed(3)}`);

  const t = await call(analysis.client, 'transform_data', { data: ref1, operation: 'normalize' });
  const ref2 = t.sc.ref_id;
  check(/^data-analysis:[0-9a-f]{16}$/.test(ref2), 'transform_data returns a data-analysis ref', t.sc);
  const norm = await valueOf(analysis.client, t.sc);
  check(norm.length === 50 && norm[0] === 0 && norm[49] === 1, 'normalized to [0, 1]', norm);
  show(3, `data-analysis.transform_data(data="${ref1}", operation="normalize") -> ${ref2}`, brief(norm));

  const fib = await call(calc.client, 'generate_fibonacci', { count: 30 });
  const ref3 = fib.sc.ref_id;
  const fibValues = await valueOf(calc.client, fib.sc);
  check(fibValues.length === 30 && fibValues[29] === 514229, 'the first 30 Fibonacci numbers', fibValues);
  show(4, `calculator.generate_fibonacci(count=30) -> ${ref3}`, brief(fibValues));

  const listed = await call(analysis.client, 'list_shared_cache', {});
  const keys = listed.sc.references.map((r) => r.key);
  for (const r of [ref1, ref2, ref3]) check(keys.includes(r), `list_shared_cache lists ${r}`, keys);
  show(5, 'data-analysis.list_shared_cache()', `${listed.sc.total_keys} references from both servers:\n` +
    listed.sc.references.map((r) => `     ${r.key}  (${r.namespace})`).join('\n'));

  // The same refs used the other way round and in the other forms agents use.
  const page = await call(analysis.client, 'get_cached_result', { ref_id: ref1, page: 2, page_size: 10 });
  check(JSON.stringify(page.sc.preview) === '[31,37,41,43,47,53,59,61,67,71]' && page.sc.total_pages === 5,
    'page 2 of the calculator ref, read on the data-analysis server', page.sc);
  const res = await analysis.client.readResource({ uri: `refcache://${ref1}` });
  check(JSON.stringify(JSON.parse(res.contents[0].text)) === JSON.stringify(primeValues), 'resources/read refcache://ref', res);
  const again = await call(calc.client, 'generate_primes', { count: 50 });
  check(again.sc.ref_id === ref1, 'a repeated call is a cache hit with the same ref', again.sc);
  const back = await call(calc.client, 'get_cached_result', { ref_id: ref2, full: true });
  check(back.sc.value.length === 50, 'the calculator reads the data-analysis ref', back.sc);
  show(6, 'checks: paging across servers, resources/read, cache hit, refs both ways -- all ok');

  // Querying a ref instead of paging it, on the server that did not make it.
  const sql = 'SELECT count(*) AS n, sum(j.value) AS total FROM data, json_each(data.value) AS j WHERE j.value > 100';
  const q = await call(analysis.client, 'query_cached_result', { ref_id: ref1, sql });
  const big = primeValues.filter((p) => p > 100);
  const want = [{ n: big.length, total: big.reduce((a, b) => a + b, 0) }];
  check(q.sc.is_complete && JSON.stringify(q.sc.value) === JSON.stringify(want), 'query_cached_result answers the SQL', q.sc);
  const q2 = await call(analysis.client, 'query_cached_result', { ref_id: ref1, sql });
  check(q2.sc.ref_id === q.sc.ref_id, 'the same query on the same ref is a cache hit', q2.sc);
  const denied = await call(analysis.client, 'query_cached_result', { ref_id: ref1, sql: 'PRAGMA table_info(data)' },
    { expectError: true });
  check(/not allowed/.test(denied.text), 'a PRAGMA is refused', denied.text);
  const hungry = await call(analysis.client, 'query_cached_result', { ref_id: ref1, sql: "SELECT length(printf('%.12000000c', 'x')) AS n" },
    { expectError: true });
  check(/exceeded its 8,388,608-byte memory limit/.test(hungry.text), 'a query beyond --query-memory 8 is stopped, naming the limit', hungry.text);
  show(7, `data-analysis.query_cached_result(ref_id="${ref1}", sql=...)`, `${brief(q.sc.value)}; repeated: a hit; PRAGMA refused; 12 MB string beyond 8 MiB refused`);

  // Ref paths: "<ref_id>#<JSON Pointer>" names a part of a value wherever a ref id goes.
  const parts = await call(analysis.client, 'analyze_data', { data: [`${ref1}#/0`, `${ref1}#/1`, `${ref1}#/49`] });
  check(parts.sc.value.count === 3 && parts.sc.value.sum === 234, 'tool arguments take ref paths inside a list', parts.sc);
  const last = await call(calc.client, 'get_cached_result', { ref_id: `${ref1}#/49`, full: true });
  check(last.sc.value === 229 && last.sc.ref_id === `${ref1}#/49`, 'get_cached_result reads a ref path', last.sc);
  const tenth = await analysis.client.readResource({ uri: `refcache://${ref1}#/10` });
  check(JSON.parse(tenth.contents[0].text) === 31, 'resources/read refcache://ref#/pointer', tenth);
  const nothing = await call(calc.client, 'get_cached_result', { ref_id: `${ref1}#/50`, full: true }, { expectError: true });
  check(/index 50 is past the end/.test(nothing.text), 'a pointer past the end says which token failed', nothing.text);
  show(8, `ref paths: analyze_data(data=["${ref1}#/0", ...]), get_cached_result("${ref1}#/49"), refcache://${ref1}#/10 -- all ok`);
  console.log(`\nPASS workflow ${MODE} ${BACKEND}`);
}

await calc.client.close().catch(() => {});
await analysis.client.close().catch(() => {});
for (const c of children) check(c.exitCode === null, 'servers (and redis-server) still running at the end');
process.exit(0);
