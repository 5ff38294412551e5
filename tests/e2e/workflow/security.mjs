// Access control through the MCP servers, with the official TypeScript client over HTTP:
//  - private computation: EXECUTE-only data reaches tools, never the agent; analyze_data
//    releases count/sum/mean/spread of a whole private list of 10+ items, transform_data keeps
//    its result private (also when chained, on the other server, and through resources/read);
//  - identity: bearer tokens make users; a user:{user_id} result is refused to another user;
//  - admin tools are refused unless the caller is named with --admin, and never show a value
//    the caller may not read.
//   node security.mjs --calc BIN --analysis BIN
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { expect as check, scene, startHttp } from '../harness.mjs';

const args = process.argv.slice(2);
const opt = (n) => args[args.indexOf(n) + 1];
const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
const { work, children } = scene('refcache-security-', 120);

// A server over HTTP on the test's SQLite file; resolves with its /mcp URL.
async function start(bin, extra) {
  const { url } = await startHttp(bin, ['--backend', 'sqlite:' + path.join(work, 'cache.db'), ...extra],
    path.basename(bin), children);
  return url.href;
}

async function client(url, token) {
  const c = new Client({ name: 'security', version: '1.0.0' });
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return c;
}

// True when `needle` appears in `text` outside any ref id (random hex may hold any digits).
const leaks = (text, needle) => text.replace(/[A-Za-z][A-Za-z0-9_-]*:[0-9a-f]{8,}/g, '').includes(needle);

async function call(c, name, a) {
  const r = await c.callTool({ name, arguments: a });
  return { error: !!r.isError, sc: r.structuredContent, text: r.content.map((x) => x.text ?? '').join(' ') };
}

const tokens = ['--bearer-token', 'alice-token=alice', '--bearer-token', 'bob-token=bob', '--admin', 'alice'];
const calcUrl = await start(CALC, [...tokens, '--namespace-template', 'user:{user_id}']);
const anaUrl = await start(ANALYSIS, tokens);
const anonAna = await start(ANALYSIS, []);  // no auth: callers are anonymous agents
const anonCalc = await start(CALC, []);

// --- private computation (anonymous agents) -----------------------------------------------
{
  const agent = await client(anonAna);
  const other = await client(anonCalc);
  const stored = await call(agent, 'store_private_data', { data: [10, 20, 30, 40, 41, 42, 43, 44, 45, 46] });
  const secret = stored.sc.ref_id;
  check(!stored.error && stored.sc.value_withheld && !leaks(stored.text, '40'), 'store_private_data returns only a ref', stored);
  const read = await call(agent, 'get_cached_result', { ref_id: secret, full: true });
  check(read.error && read.sc.error === 'Invalid or inaccessible reference' && !leaks(read.text, '40'),
    'the agent cannot read private data (opaque error)', read);
  // What it may see is the structure of its private list: the type of the items seen at least
  // --release-min-items (10) times and their count, no value and no other count.
  const preview = await call(agent, 'get_cached_result', { ref_id: secret });
  check(!preview.error && preview.sc.preview_strategy === 'shape' && preview.sc.omitted?.values_withheld === true
    && JSON.stringify(preview.sc.preview) === '{"type":"array","items":{"type":"integer"}}'
    && preview.sc.total_items === 10 && preview.sc.original_size === null,
    'a preview of it is its structure only', preview);
  const sampled = await call(agent, 'get_cached_result', { ref_id: secret, preview_strategy: 'sample' });
  check(sampled.error && sampled.sc.error === 'Invalid or inaccessible reference' && !leaks(sampled.text, '20'),
    'nor any other preview of it', sampled);
  const res = await agent.readResource({ uri: `refcache://${secret}` });
  check(JSON.parse(res.contents[0].text).value_withheld === true && !leaks(res.contents[0].text, '30'),
    'resources/read describes private data without its content', res);
  const stats = await call(agent, 'analyze_data', { data: secret });
  check(!stats.error && stats.sc.value.sum === 361 && stats.sc.value.count === 10 && !('max' in stats.sc.value),
    'analyze_data releases statistics that single out no value', stats);
  const t = await call(agent, 'transform_data', { data: secret, operation: 'scale', scale_factor: 2 });
  check(!t.error && t.sc.value_withheld === true && !('value' in t.sc) && !('preview' in t.sc) && !leaks(t.text, '80'),
    'transform_data computes but withholds a result derived from private data', t);
  const derived = t.sc.ref_id;
  const readDerived = await call(agent, 'get_cached_result', { ref_id: derived, full: true });
  check(readDerived.error && !leaks(readDerived.text, '80'), 'the derived result cannot be read either', readDerived);
  const chained = await call(agent, 'analyze_data', { data: derived });
  check(!chained.error && chained.sc.value_withheld === true && !leaks(chained.text, '722'),
    'the derived result can still be used, and its statistics stay private', chained);
  const elsewhere = await call(other, 'get_cached_result', { ref_id: derived, full: true });
  check(elsewhere.error && !leaks(elsewhere.text, '80'), 'nor read through the other server', elsewhere);
  const guess = await call(agent, 'transform_data', { data: [10, 20, 30, 40], operation: 'scale', scale_factor: 2 });
  check(!guess.error && guess.sc.ref_id !== derived && JSON.stringify(guess.sc.value) === '[20,40,60,80]',
    'a literal guess of the private data does not hit the private result', guess);
  await agent.close();
  await other.close();
}

// --- users from bearer tokens ----------------------------------------------------------------
{
  const alice = await client(calcUrl, 'alice-token');
  const bob = await client(calcUrl, 'bob-token');
  const aliceAna = await client(anaUrl, 'alice-token');
  const bobAna = await client(anaUrl, 'bob-token');
  const mine = await call(alice, 'generate_primes', { count: 30 });
  const ref = mine.sc.ref_id;
  check(!mine.error && mine.sc.is_complete, 'alice computes primes in user:alice', mine.sc);
  const theirs = await call(bob, 'generate_primes', { count: 30 });
  check(theirs.sc.ref_id !== ref, 'bob gets his own result, not a hit on alice\'s', theirs.sc);
  const stolen = await call(bobAna, 'analyze_data', { data: ref });
  check(stolen.error && stolen.text.includes('Invalid or inaccessible reference') && !leaks(stolen.text, '113'),
    'bob cannot use alice\'s ref on the other server', stolen);
  const peek = await call(bobAna, 'get_cached_result', { ref_id: ref });
  check(peek.error && !leaks(peek.text, '113'), 'nor read it', peek);
  const own = await call(aliceAna, 'analyze_data', { data: ref });
  check(!own.error && own.sc.value.count === 30, 'alice uses her ref on the other server', own.sc);

  // Admin tools: bob is not an admin; alice is, but sees no value she may not read.
  const denied = await call(bobAna, 'get_cache_stats', {});
  check(denied.error && denied.text.includes('Admin access required'), 'admin tools refuse non-admins', denied);
  const stats = await call(aliceAna, 'get_cache_stats', {});
  check(!stats.error && stats.sc.backend === 'sqlite' && stats.sc.entries >= 2, 'admin stats for alice', stats.sc);
  const info = await call(aliceAna, 'get_reference_info', { ref_id: theirs.sc.ref_id });
  check(!info.error && info.sc.preview_withheld === true && !('preview' in info.sc),
    'admin info never shows a value the admin may not read', info.sc);
  const list = await call(aliceAna, 'list_references', { include_preview: true });
  check(!list.error && list.sc.references.length >= 2, 'admin listing', list.sc);
  const mineInfo = list.sc.references.find((r) => r.ref_id === ref);
  check(mineInfo && JSON.stringify(mineInfo.preview).startsWith('[2,3,5,7,11'), 'admin preview of her own ref', mineInfo);
  for (const c of [alice, bob, aliceAna, bobAna]) await c.close();
}

// --- no token, wrong token ---------------------------------------------------------------------
{
  let failed = null;
  try { await client(calcUrl); } catch (e) { failed = e; }
  check(failed !== null, 'a missing bearer token is refused');
  failed = null;
  try { await client(calcUrl, 'wrong-token'); } catch (e) { failed = e; }
  check(failed !== null, 'a wrong bearer token is refused');
}
for (const c of children) check(c.exitCode === null, 'servers still running');
console.log('PASS security');
process.exit(0);
