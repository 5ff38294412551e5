// The gateway's response cache, with the official TypeScript client (@modelcontextprotocol/sdk)
// over Streamable HTTP, bearer users alice and bob, in front of
// @modelcontextprotocol/server-filesystem, whose tools say whether they are read-only:
//   - the server opts its read-only tools in (cache_read_only_ttl: 3 s): alice's second
//     list_directory is answered from the cache (a file made on disk in between is not in it);
//   - bob's identical call is his own: his listing shows the new file, and alice's still not;
//   - a read-only tool opted out by its own setting (read_text_file, cache_ttl: 0) sees every
//     change; a tool that is not read-only (write_file) reaches the upstream every time;
//   - after the TTL, alice's listing shows the new file.
//
//   node response_cache.mjs --gateway BIN
import fs from 'node:fs';
import path from 'node:path';
import { FILESYSTEM, check, connectHttp, requiredOptions, scene, sleep, startHttp, step, textOf } from './harness.mjs';

const [GATEWAY] = requiredOptions('response_cache.mjs', '--gateway');
const TTL = 3;

const { work, children } = scene('refcache-gateway-cache-', 90);

async function main() {
  const data = path.join(work, 'data');
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, 'first.txt'), 'one');
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify({ mcpServers: { fs: { command: process.execPath, args: [FILESYSTEM, data],
    refcache: { cache_read_only_ttl: TTL, tools: { read_text_file: { cache_ttl: 0 } } } } } }));
  const ALICE = 'alice-' + Math.random().toString(36).slice(2);
  const BOB = 'bob-' + Math.random().toString(36).slice(2);
  const gw = await startHttp(GATEWAY, ['--config', configPath, '--backend', 'memory:', '--bearer-token', `${ALICE}=alice`,
    '--bearer-token', `${BOB}=bob`], 'refcache-gateway', children);
  const alice = await connectHttp(gw.url, ALICE, 'alice');
  const bob = await connectHttp(gw.url, BOB, 'bob');
  const list = async (c) => {
    const r = await c.callTool({ name: 'list_directory', arguments: { path: data } });
    check(r.isError !== true, 'list_directory answers', r);
    return textOf(r);
  };

  const tools = (await alice.listTools()).tools;
  const annotated = (n) => tools.find((t) => t.name === n)?.annotations?.readOnlyHint;
  check(annotated('list_directory') === true && annotated('read_text_file') === true && annotated('write_file') === false,
    'server-filesystem marks list_directory and read_text_file read-only, write_file not', tools.map((t) => [t.name, t.annotations]));

  const before = await list(alice);
  check(before.includes('first.txt') && !before.includes('second.txt'), 'alice lists one file', before);
  const t0 = Date.now();
  fs.writeFileSync(path.join(data, 'second.txt'), 'two');
  const again = await list(alice);
  check(again === before, 'alice\'s identical call within the TTL is answered from the cache (no second.txt)', again);
  step('a read-only tool opted in by the server: the second identical call did not reach the upstream');

  const bobs = await list(bob);
  check(bobs.includes('second.txt'), 'bob\'s identical call is his own (he sees second.txt)', bobs);
  check((await list(alice)) === before, 'and alice still gets her kept answer, not bob\'s');
  step('one caller\'s kept answer never reaches another caller');

  const read = async () => textOf(await alice.callTool({ name: 'read_text_file', arguments: { path: path.join(data, 'first.txt') } }));
  check((await read()) === 'one', 'read_text_file reads the file');
  fs.writeFileSync(path.join(data, 'first.txt'), 'uno');
  check((await read()) === 'uno', 'a read-only tool with cache_ttl 0 is never answered from the cache');
  const target = path.join(data, 'written.txt');
  const write = () => alice.callTool({ name: 'write_file', arguments: { path: target, content: 'w' } });
  check((await write()).isError !== true && fs.existsSync(target), 'write_file writes');
  fs.rmSync(target);
  check((await write()).isError !== true && fs.existsSync(target), 'the identical write_file reaches the upstream again');
  step('opted-out and not-read-only tools reach the upstream on every call');

  const wait = t0 + TTL * 1000 + 300 - Date.now();
  if (wait > 0) await sleep(wait);
  const after = await list(alice);
  check(after.includes('second.txt'), 'after the TTL, alice\'s listing reaches the upstream again', after);
  step(`after ${TTL} s the kept answer has expired`);

  await alice.close();
  await bob.close();
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => check(false, 'unexpected error', String(e?.stack ?? e)));
