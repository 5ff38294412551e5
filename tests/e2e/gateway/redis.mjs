// Two refcache-gateways on one Redis, driven by the official TypeScript client
// (@modelcontextprotocol/sdk) over Streamable HTTP with bearer users alice and bob, both in
// front of @modelcontextprotocol/server-filesystem (each gateway runs its own copy):
//   - a real redis-server with a password on a free loopback port, started here;
//   - alice's read_text_file of a large JSON file behind gateway A is a ref, stored in her
//     namespace (--namespace-template user:{user_id}, on both gateways);
//   - behind gateway B, alice pages that ref, fetches it whole, and passes it to write_file,
//     whose copy is byte-identical to the file;
//   - bob, behind gateway B (and behind A), is refused the ref, reading it or passing it as an
//     argument, with the opaque error he gets for a ref that does not exist; his write_file of
//     the ref writes nothing.
//
//   node redis.mjs --gateway BIN
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHttp, startRedis } from './harness.mjs';

const args = process.argv.slice(2);
const i = args.indexOf('--gateway');
const GATEWAY = i >= 0 ? args[i + 1] : undefined;
if (!GATEWAY) {
  console.error('usage: node redis.mjs --gateway BIN');
  process.exit(2);
}
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const NODE = process.execPath;
const FILESYSTEM = path.join(REPO, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

const children = [];
const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-gateway-redis-')));
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
const deadline = setTimeout(() => { console.error('FAIL: took longer than 120 s'); process.exit(1); }, 120000);
function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail).slice(0, 2000));
  process.exit(1);
}
function check(cond, what, detail) { if (!cond) fail(what, detail); }
function step(s) { console.log(`ok: ${s}`); }
const sc = (r) => r.structuredContent;
const textOf = (r) => (r.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('');

async function connect(url, token, name) {
  const c = new Client({ name, version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return c;
}

async function main() {
  const redisUrl = (await startRedis(work, children)).url;
  const data = path.join(work, 'data');
  fs.mkdirSync(data);
  const rows = Array.from({ length: 20000 }, (_, k) => ({ id: k, name: `name-${k}`, note: 'y'.repeat(40) }));
  const bigPath = path.join(data, 'big.json');
  fs.writeFileSync(bigPath, JSON.stringify(rows, null, 1));
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify({ mcpServers: { fs: { command: NODE, args: [FILESYSTEM, data] } } }));

  const ALICE = 'alice-' + Math.random().toString(36).slice(2);
  const BOB = 'bob-' + Math.random().toString(36).slice(2);
  const common = ['--config', configPath, '--backend', redisUrl, '--bearer-token', `${ALICE}=alice`, '--bearer-token', `${BOB}=bob`,
    '--namespace-template', 'user:{user_id}'];
  const [urlA, urlB] = (await Promise.all([startHttp(GATEWAY, common, 'gateway A', children),
    startHttp(GATEWAY, common, 'gateway B', children)])).map((g) => g.url);
  check(urlA.port !== urlB.port, 'two gateways on two ports', [urlA.href, urlB.href]);
  step(`two gateways (${urlA.host}, ${urlB.host}) on one redis-server`);

  const aliceA = await connect(urlA, ALICE, 'alice-a');
  const aliceB = await connect(urlB, ALICE, 'alice-b');
  const bobA = await connect(urlA, BOB, 'bob-a');
  const bobB = await connect(urlB, BOB, 'bob-b');

  // Made behind A.
  const made = await aliceA.callTool({ name: 'read_text_file', arguments: { path: bigPath } });
  const ref = sc(made);
  check(made.isError !== true && /^gateway:[0-9a-f]{16}$/.test(ref?.ref_id) && ref.total_items === rows.length,
    'alice\'s read_text_file behind gateway A is a ref', ref ?? textOf(made));
  check(ref.namespace === undefined || ref.namespace === 'user:alice', 'in alice\'s namespace', ref);
  step(`alice behind A: ${ref.ref_id} (${rows.length} rows)`);

  // Resolved behind B for the same user.
  const page = sc(await aliceB.callTool({ name: 'get_cached_result', arguments: { ref_id: ref.ref_id, page: 2, page_size: 10 } }));
  check(page?.preview?.length === 10 && page.preview[0].id === 10, 'alice pages the ref behind gateway B', page);
  const whole = sc(await aliceB.callTool({ name: 'get_cached_result', arguments: { ref_id: ref.ref_id, full: true } }));
  check(isDeepStrictEqual(whole?.value, rows), 'alice fetches the whole ref behind gateway B');
  const copyPath = path.join(data, 'copy.json');
  const wrote = await aliceB.callTool({ name: 'write_file', arguments: { path: copyPath, content: ref.ref_id } });
  check(wrote.isError !== true && fs.readFileSync(copyPath).equals(fs.readFileSync(bigPath)),
    'alice\'s write_file(content=ref) behind gateway B copies the file byte for byte', wrote);
  step('alice behind B: the ref pages, comes whole, and flows into write_file (a byte-identical copy)');

  // Refused to bob, with the error of a ref that does not exist.
  const unknown = await bobB.callTool({ name: 'get_cached_result', arguments: { ref_id: 'gateway:00000000deadbeef' } });
  const unknownText = textOf(unknown);
  check(unknown.isError === true && unknownText.includes('Invalid or inaccessible reference'), 'an unknown ref is refused', unknown);
  const norm = (s) => s.replaceAll(ref.ref_id, 'REF').replaceAll('gateway:00000000deadbeef', 'REF');
  for (const [who, client] of [['B', bobB], ['A', bobA]]) {
    const read = await client.callTool({ name: 'get_cached_result', arguments: { ref_id: ref.ref_id } });
    check(read.isError === true && norm(textOf(read)) === norm(unknownText) && sc(read)?.preview === undefined,
      `bob behind ${who} is refused alice's ref, with the error of an unknown ref`, { read, unknownText });
    const bobCopy = path.join(data, `bob-${who}.json`);
    const passed = await client.callTool({ name: 'write_file', arguments: { path: bobCopy, content: ref.ref_id } });
    check(passed.isError === true && textOf(passed).includes('Invalid or inaccessible reference') && !textOf(passed).includes('name-1'),
      `bob behind ${who} cannot pass alice's ref as an argument`, passed);
    check(!fs.existsSync(bobCopy), `bob's write_file behind ${who} wrote nothing`);
  }
  step(`bob behind B and A: "${textOf(await bobB.callTool({ name: 'get_cached_result', arguments: { ref_id: ref.ref_id } }))}", the same as for an unknown ref; nothing written`);

  for (const c of [aliceA, aliceB, bobA, bobB]) await c.close();
  clearTimeout(deadline);
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => fail('unexpected error', String(e?.stack ?? e)));
