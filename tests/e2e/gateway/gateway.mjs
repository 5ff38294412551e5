// refcache-gateway driven by the official TypeScript MCP client (@modelcontextprotocol/sdk),
// in front of servers no one here wrote and of our own calculator:
//   - @modelcontextprotocol/server-everything (stdio), @modelcontextprotocol/server-filesystem
//     (stdio), refcache-calculator (stdio; and one over HTTP, reached both by Streamable HTTP
//     and, with a configured prefix, by legacy SSE), one upstream whose program does not
//     exist and one marked disabled;
//   - the tools of the three that start are offered together (calculator's get_cached_result,
//     a gateway name, is renamed; a hidden tool is absent); gateway_status reports the one
//     that is down, with its reason;
//   - server-everything's resources, resource templates and prompts are offered and answer
//     as they do directly;
//   - progress notifications of an upstream reach the client;
//   - small results pass through unchanged (compared with the same calls made directly);
//   - refcache-data-analysis, sharing the gateway's SQLite store, analyses a gateway ref;
//   - directory_tree of a large tree becomes a ref, paged by directory;
//   - read_text_file of a multi-MB JSON file becomes a ref with a preview, paged and fetched
//     whole with get_cached_result;
//   - the ref, with JSON Pointers, is passed to another upstream's tools (calculator's
//     calculate, everything's echo) and whole to the filesystem's write_file, whose copy is
//     byte-identical (the text is kept beside the parsed JSON);
//   - a ref of the calculator's own cache reaches the calculator as written;
//   - a client's budget hint (anthropic/maxResultSizeChars in params._meta) reaches the
//     calculator, whose answer fits it, and the gateway fits a filesystem result to it;
//   - an upstream killed while serving fails its calls with an error naming it, and
//     gateway_status says why, while the others keep serving; it is restarted and serves
//     again under the same names;
//   - a per-tool threshold turns a small text result into a ref; an unknown gateway ref is
//     refused with the opaque error.
// The gateway is served over stdio (--mode stdio) or Streamable HTTP (--mode http, with a
// bearer token required, and a request without it, or from a foreign Origin, refused).
//
//   node gateway.mjs --gateway BIN --calc BIN --analysis BIN [--mode stdio|http]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const GATEWAY = opt('--gateway');
const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
const MODE = opt('--mode', 'stdio');
if (!GATEWAY || !CALC || !ANALYSIS) {
  console.error('usage: node gateway.mjs --gateway BIN --calc BIN --analysis BIN [--mode stdio|http]');
  process.exit(2);
}
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const NODE = process.execPath;
const EVERYTHING = path.join(REPO, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const FILESYSTEM = path.join(REPO, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

const children = [];
const clients = [];
const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-gateway-')));
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
const deadline = setTimeout(() => { console.error('FAIL: took longer than 150 s'); process.exit(1); }, 150000);

function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail).slice(0, 2000));
  process.exit(1);
}
function check(cond, what, detail) { if (!cond) fail(what, detail); }
function step(s) { console.log(`ok: ${s}`); }

// The data: a JSON array of 20,000 rows, about 2.9 MB, written with indentation (so that a
// copy made from the parsed value would differ from the original bytes).
const data = path.join(work, 'data');
fs.mkdirSync(data);
const rows = [];
for (let i = 0; i < 20000; i++)
  rows.push({ id: i, name: `name-${i}`, expr: `${i} * 2 + 1`, note: 'x'.repeat(60) });
const bigPath = path.join(data, 'big.json');
fs.writeFileSync(bigPath, JSON.stringify(rows, null, 1));
check(fs.statSync(bigPath).size > 2_000_000, 'the data file is multi-MB');

// Our calculator over HTTP too, reached by the gateway through Streamable HTTP and legacy SSE.
function startHttp(bin, extra) {
  const proc = spawn(bin, [...extra, '--transport', 'http', '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${bin} did not start: ${err}`)), 60000);
    proc.stderr.on('data', (d) => {
      err += d.toString();
      const m = err.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(t); resolve(new URL(m[1])); }
    });
    proc.on('exit', (code) => reject(new Error(`${bin} exited with ${code}: ${err}`)));
  });
}
const calcUrl = await startHttp(CALC, ['--backend', 'memory:']);

// 20,000 numbers, for refcache-data-analysis.
const numbers = Array.from({ length: 20000 }, (_, i) => (i * 7) % 101);
const numbersPath = path.join(data, 'numbers.json');
fs.writeFileSync(numbersPath, JSON.stringify(numbers));

// A tree of 80 directories of 40 files each.
const treeDir = path.join(data, 'tree');
for (let d = 0; d < 80; d++) {
  const dir = path.join(treeDir, `dir-${String(d).padStart(3, '0')}`);
  fs.mkdirSync(dir, { recursive: true });
  for (let f = 0; f < 40; f++) fs.writeFileSync(path.join(dir, `file-${f}.txt`), '');
}

const config = {
  mcpServers: {
    everything: { command: NODE, args: [EVERYTHING, 'stdio'],
                  refcache: { hide_tools: ['get-env'] } },
    calc: { command: CALC, args: ['--backend', 'memory:'] },
    fs: { type: 'stdio', command: NODE, args: [FILESYSTEM, data],
          refcache: { tools: { list_allowed_directories: { threshold: 1 } } } },
    missing: { command: path.join(work, 'no-such-server'), args: [] },
    remote: { type: 'http', url: calcUrl.href, headers: { 'X-Test': 'gateway' } },
    legacy: { type: 'sse', url: new URL('/sse', calcUrl).href, refcache: { prefix: 'old' } },
    off: { command: path.join(work, 'no-such-server'), disabled: true },
  },
};
const configPath = path.join(work, 'mcp.json');
fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
const TOKEN = 'gateway-e2e-' + Math.random().toString(36).slice(2);
const sharedDb = path.join(work, 'gateway.db');
const gatewayArgs = ['--config', configPath, '--backend', `sqlite:${sharedDb}`];

async function connect(transport, name) {
  const c = new Client({ name, version: '1.0.0' });
  await c.connect(transport);
  clients.push(c);
  return c;
}

// The processes whose parent is `pid` (from /proc), with their command lines.
function childrenOf(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch { /* the process ended meanwhile */ }
  }
  return out;
}

const sc = (r) => r.structuredContent;
const textOf = (r) => r.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

async function main() {
  let gwUrl;
  let gwStdio;
  const gw = MODE === 'http'
    ? await connect(new StreamableHTTPClientTransport(gwUrl = await startHttp(GATEWAY, [...gatewayArgs, '--bearer-token', `${TOKEN}=alice`]),
      { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }), 'gateway-e2e')
    : await connect(gwStdio = new StdioClientTransport({ command: GATEWAY, args: gatewayArgs, stderr: 'ignore' }), 'gateway-e2e');
  const gatewayPid = MODE === 'http' ? children[children.length - 1].pid : gwStdio.pid;
  const everything = await connect(new StdioClientTransport({ command: NODE, args: [EVERYTHING, 'stdio'], stderr: 'ignore' }), 'direct');
  const calc = await connect(new StdioClientTransport({ command: CALC, args: ['--backend', 'memory:'], stderr: 'ignore' }), 'direct');

  if (MODE === 'http') {
    // The security defaults of our servers: a bearer token is required, a foreign Origin refused.
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const post = (headers) => fetch(gwUrl, { method: 'POST', body: JSON.stringify(init),
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers } });
    const noToken = await post({});
    check(noToken.status === 401, 'no bearer token: 401', noToken.status);
    const foreign = await post({ Authorization: `Bearer ${TOKEN}`, Origin: 'http://evil.example' });
    check(foreign.status === 403, 'a foreign Origin: 403', foreign.status);
    step('HTTP: a request without the bearer token gets 401, one from a foreign Origin 403');
  }

  // Aggregation.
  const names = (await gw.listTools()).tools.map((t) => t.name);
  for (const n of ['echo', 'read_text_file', 'write_file', 'get_cached_result', 'gateway_status',
    'calc_calculate', 'calc_generate_primes', 'calc_get_cached_result', 'calc_list_cached_keys',
    'remote_calculate', 'remote_get_cached_result', 'old_calculate', 'old_get_cached_result'])
    check(names.includes(n), `the gateway offers ${n}`, names);
  check(!names.includes('get-env'), 'a hidden tool is not offered', names);
  check(new Set(names).size === names.length, 'every name is offered once', names);
  check(!names.includes('calculate') && !names.includes('old_calc_calculate'), 'colliding names are all prefixed, once', names);
  step(`${names.length} tools from five upstreams; colliding calculator tools prefixed; get-env hidden`);

  // The upstream that is down.
  const status = sc(await gw.callTool({ name: 'gateway_status', arguments: {} }));
  check(status.total === 6 && status.up === 5, 'five of six upstreams are up (the disabled one is left out)', status);
  const transports = Object.fromEntries(status.upstreams.map((u) => [u.name, u.transport]));
  check(transports.remote === 'streamable-http' && transports.legacy === 'sse' && transports.fs === 'stdio', 'transports', transports);
  const missing = status.upstreams.find((u) => u.name === 'missing');
  check(missing.state === 'down' && missing.reason.length > 0, 'the missing upstream is down, with a reason', missing);
  step(`gateway_status: ${status.up}/${status.total} up; missing: ${missing.reason}`);

  // Small results pass through unchanged.
  const strip = (r) => ({ content: r.content, structuredContent: r.structuredContent, isError: r.isError ?? false });
  for (const [client, name, a] of [[everything, 'echo', { message: 'hello' }], [everything, 'get-sum', { a: 2, b: 40 }],
    [calc, 'calculate', { expression: '2 * (3 + 4)' }], [calc, 'remote_calculate', { expression: '2 ** 10' }],
    [calc, 'old_calculate', { expression: '1 + 1' }]]) {
    const direct = strip(await client.callTool({ name: name.replace(/^(calc|remote|old)_/, ''), arguments: a }));
    const via = strip(await gw.callTool({ name: client === calc && name === 'calculate' ? 'calc_calculate' : name, arguments: a }));
    check(isDeepStrictEqual(direct, via), `${name} passes through unchanged`, { direct, via });
  }
  step('echo, get-sum, calculate (stdio, Streamable HTTP, legacy SSE upstreams): the same result through the gateway as directly');

  // Resources, resource templates and prompts of an upstream, answered as it answers them.
  const directResources = (await everything.listResources()).resources;
  const gwResources = (await gw.listResources()).resources;
  check(directResources.length > 0 && directResources.every((r) => gwResources.some((g) => g.uri === r.uri)),
    'every resource of server-everything is offered', { directResources, gwResources });
  const uri = directResources[0].uri;
  check(isDeepStrictEqual(await everything.readResource({ uri }), await gw.readResource({ uri })), 'a resource reads the same', uri);
  const directTemplates = (await everything.listResourceTemplates()).resourceTemplates;
  const gwTemplates = (await gw.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
  const offeredTemplates = directTemplates.filter((t) => gwTemplates.includes(t.uriTemplate));
  check(gwTemplates.includes('refcache://{ref_id}') && offeredTemplates.length > 0, 'templates offered', { directTemplates, gwTemplates });
  const templated = (offeredTemplates.find((t) => t.uriTemplate.includes('/text/')) ?? offeredTemplates[0]).uriTemplate.replace(/\{[^}]*\}/g, '1');
  // server-everything writes the time of day (to the second) into its templated resources, so
  // two reads agree only once that time is taken out.
  const timeless = (r) => JSON.parse(JSON.stringify(r).replace(/\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?/g, '<time>'));
  const directTemplated = await everything.readResource({ uri: templated });
  const viaTemplated = await gw.readResource({ uri: templated });
  check(isDeepStrictEqual(timeless(directTemplated), timeless(viaTemplated)), 'a templated resource reads the same',
    { templated, directTemplated, viaTemplated });
  const directPrompts = (await everything.listPrompts()).prompts;
  const gwPrompts = (await gw.listPrompts()).prompts.map((p) => p.name);
  check(directPrompts.every((p) => gwPrompts.includes(p.name)), 'every prompt of server-everything is offered', { directPrompts, gwPrompts });
  const plain = directPrompts.find((p) => !(p.arguments ?? []).some((a) => a.required));
  check(isDeepStrictEqual(await everything.getPrompt({ name: plain.name, arguments: {} }), await gw.getPrompt({ name: plain.name, arguments: {} })),
    'a prompt answers the same', plain);
  step(`${directResources.length} resources, ${offeredTemplates.length}/${directTemplates.length} templates, ${directPrompts.length} prompts of server-everything offered; ${uri} and prompt ${plain.name} answer the same; so does ${templated}`);

  // Progress of an upstream reaches the client.
  const progress = [];
  const long = await gw.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 4 } },
    undefined, { onprogress: (p) => progress.push(p.progress) });
  check(long.isError !== true && progress.length >= 2 && progress.every((p, i) => i === 0 || p > progress[i - 1]),
    'progress notifications pass through, increasing', { progress, long });
  step(`trigger-long-running-operation: ${progress.length} progress notifications passed through`);

  // A large result becomes a ref.
  const big = await gw.callTool({ name: 'read_text_file', arguments: { path: bigPath } });
  const ref = sc(big);
  check(big.isError !== true, 'read_text_file succeeds', textOf(big).slice(0, 500));
  check(/^gateway:[0-9a-f]{16}$/.test(ref.ref_id) && ref.is_complete === false, 'the large result is a ref', ref);
  check(ref.total_items === rows.length && ref.source === 'json_text' && ref.upstream === 'fs', 'the ref holds the parsed rows', ref);
  const received = JSON.stringify(big).length;
  check(received < 20000, 'the answer is small', received);
  check(big.content.some((b) => b.type === 'resource_link' && b.uri === `refcache://${ref.ref_id}`), 'a resource_link to the ref');
  step(`read_text_file of ${fs.statSync(bigPath).size} bytes answered in ${received} bytes: ${ref.ref_id}`);

  const page = sc(await gw.callTool({ name: 'get_cached_result', arguments: { ref_id: ref.ref_id, page: 3, page_size: 10 } }));
  check(Array.isArray(page.preview) && page.preview.length === 10 && page.preview[0].id === 20 && page.total_pages === 2000,
    'page 3 of 10 rows', page);
  const whole = sc(await gw.callTool({ name: 'get_cached_result', arguments: { ref_id: ref.ref_id, full: true } }));
  check(isDeepStrictEqual(whole.value, rows), 'the full value is the file\'s JSON');
  step('get_cached_result: page 3 holds rows 20-29; full=true gives all 20,000 rows');

  // The gateway's refs live in the shared store: refcache-data-analysis, on the same SQLite
  // file and not behind the gateway, analyses one.
  const numbersRef = sc(await gw.callTool({ name: 'read_text_file', arguments: { path: numbersPath } }));
  check(/^gateway:/.test(numbersRef.ref_id) && numbersRef.total_items === numbers.length, 'the numbers are a ref', numbersRef);
  const analysis = await connect(new StdioClientTransport({ command: ANALYSIS, args: ['--backend', `sqlite:${sharedDb}`], stderr: 'ignore' }), 'direct');
  const stats = sc(await analysis.callTool({ name: 'analyze_data', arguments: { data: numbersRef.ref_id } }));
  const stat = stats.value ?? stats;
  const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
  check(stat.count === numbers.length && Math.abs(stat.mean - mean) < 1e-9, 'refcache-data-analysis analysed the gateway\'s ref', stats);
  step(`refcache-data-analysis on the shared store: analyze_data(${numbersRef.ref_id}) mean ${stat.mean}`);

  // A large directory tree becomes a ref too.
  const tree = await gw.callTool({ name: 'directory_tree', arguments: { path: treeDir } });
  const treeRef = sc(tree);
  check(tree.isError !== true && /^gateway:/.test(treeRef.ref_id) && treeRef.source === 'json_text' && treeRef.total_items === 80,
    'directory_tree of 80 directories is a ref', treeRef);
  const firstDir = sc(await gw.callTool({ name: 'get_cached_result', arguments: { ref_id: treeRef.ref_id, page: 1, page_size: 1 } }));
  check(firstDir.preview.length === 1 && firstDir.preview[0].type === 'directory' && firstDir.preview[0].children.length === 40,
    'the tree pages by directory', firstDir);
  step(`directory_tree of 80 x 40 files answered in ${JSON.stringify(tree).length} bytes: ${treeRef.ref_id}`);

  // The ref as arguments of other upstreams' tools.
  const computed = sc(await gw.callTool({ name: 'remote_calculate', arguments: { expression: `${ref.ref_id}#/5/expr` } }));
  check(computed.expression === '5 * 2 + 1' && computed.result === 11, 'calculate (over HTTP) got row 5\'s expression', computed);
  const echoed = await gw.callTool({ name: 'echo', arguments: { message: `${ref.ref_id}#/7/name` } });
  check(textOf(echoed) === 'Echo: name-7', 'echo got row 7\'s name', echoed);
  const copyPath = path.join(data, 'copy.json');
  const wrote = await gw.callTool({ name: 'write_file', arguments: { path: copyPath, content: ref.ref_id } });
  check(wrote.isError !== true, 'write_file succeeds', wrote);
  check(fs.readFileSync(copyPath).equals(fs.readFileSync(bigPath)), 'the copy is byte-identical to the file');
  step('calculate(ref#/5/expr) = 11; echo(ref#/7/name); write_file(content=ref) made a byte-identical copy');

  // A ref of the calculator's own cache (not the gateway's) reaches the calculator as written.
  const primes = sc(await gw.callTool({ name: 'calc_generate_primes', arguments: { count: 3000 } }));
  check(/^calculator:/.test(primes.ref_id) && primes.is_complete === false, 'the calculator answers its own ref', primes);
  const primePage = sc(await gw.callTool({ name: 'calc_get_cached_result', arguments: { ref_id: primes.ref_id, page: 1, page_size: 5 } }));
  check(isDeepStrictEqual(primePage.preview, [2, 3, 5, 7, 11]), 'the calculator pages its own ref behind the gateway', primePage);
  step(`the calculator's ${primes.ref_id} passed through to calc_get_cached_result`);

  // A client's budget hint (params._meta): passed on to the calculator, whose own ref comes
  // back with an answer that fits; a result of an upstream that knows nothing of hints (the
  // filesystem) is fitted by the gateway.
  const hinted = await gw.callTool({ name: 'calc_generate_primes', arguments: { count: 3000 },
                                     _meta: { 'anthropic/maxResultSizeChars': 400 } });
  check(/^calculator:/.test(sc(hinted).ref_id) && textOf(hinted).length <= 400,
        'a hinted call answers the calculator\'s own ref within the hint', textOf(hinted));
  const hintedFile = await gw.callTool({ name: 'read_text_file', arguments: { path: bigPath },
                                         _meta: { 'anthropic/maxResultSizeChars': 900 } });
  check(/^gateway:/.test(sc(hintedFile).ref_id) && textOf(hintedFile).length <= 900 &&
        sc(hintedFile).preview_strategy === 'shape' && sc(hintedFile).preview?.items?.keys?.name !== undefined, 'the gateway fits an upstream result to the hint',
        textOf(hintedFile));
  step(`budget hints: ${textOf(hinted).length} characters from the calculator, ${textOf(hintedFile).length} from the gateway`);

  // A per-tool threshold; an unknown ref of the gateway's.
  const dirs = sc(await gw.callTool({ name: 'list_allowed_directories', arguments: {} }));
  check(/^gateway:/.test(dirs.ref_id) && dirs.source === 'text', 'a tool with threshold 1 answers a ref', dirs);
  const bad = await gw.callTool({ name: 'echo', arguments: { message: 'gateway:00000000deadbeef' } });
  check(bad.isError === true && textOf(bad).includes('Invalid or inaccessible reference'), 'an unknown ref is refused', bad);
  step('per-tool threshold honoured; unknown ref refused opaquely');

  // An upstream that dies: its calls fail with an error naming it, the others still serve.
  const calcChild = childrenOf(gatewayPid).find((c) => c.cmd.includes('refcache-calculator'));
  check(calcChild !== undefined, 'the gateway runs the stdio calculator', childrenOf(gatewayPid));
  process.kill(calcChild.pid, 'SIGKILL');
  let dead;
  for (let i = 0; i < 100; i++) {
    dead = await gw.callTool({ name: 'calc_calculate', arguments: { expression: '1 + 1' } });
    if (dead.isError) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  check(dead.isError === true && textOf(dead).includes("upstream 'calc'"), 'a call to the dead upstream fails naming it', dead);
  const after = sc(await gw.callTool({ name: 'gateway_status', arguments: {} }));
  const calcState = after.upstreams.find((u) => u.name === 'calc');
  check(/SIGKILL|signal 9/.test(calcState.last_error ?? ''), 'gateway_status says why', calcState);
  const still = await gw.callTool({ name: 'remote_calculate', arguments: { expression: '6 * 7' } });
  check(sc(still).result === 42, 'the other upstreams still serve', still);
  // It is restarted (first retry after 0.5 s) and serves again under the same name.
  let back;
  for (let i = 0; i < 100; i++) {
    back = await gw.callTool({ name: 'calc_calculate', arguments: { expression: '2 + 3' } });
    if (!back.isError) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  check(back.isError !== true && sc(back).result === 5, 'the killed upstream is restarted and serves again', back);
  const restarted = sc(await gw.callTool({ name: 'gateway_status', arguments: {} })).upstreams.find((u) => u.name === 'calc');
  check(restarted.state === 'up' && restarted.restarts >= 1 && restarted.attempts >= 2, 'gateway_status counts the restart', restarted);
  const newChild = childrenOf(gatewayPid).find((c) => c.cmd.includes('refcache-calculator'));
  check(newChild !== undefined && newChild.pid !== calcChild.pid, 'a new calculator process runs', newChild);
  step(`killed the calculator: "${textOf(dead)}"; last error: ${calcState.last_error}; remote_calculate still answers; restarted (attempts ${restarted.attempts})`);

  for (const c of clients) await c.close();
  clearTimeout(deadline);
  console.log('PASS');
  // The HTTP gateway is a child of this script: the exit handler stops it.
  process.exit(0);
}

main().catch((e) => fail('unexpected error', String(e?.stack ?? e)));
