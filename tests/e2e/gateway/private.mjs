// Private computation through the gateway, with the official TypeScript client
// (@modelcontextprotocol/sdk) over Streamable HTTP: alice stores a private list in
// refcache-data-analysis (she may use it, never read it); refcache-gateway, in front of
// @modelcontextprotocol/server-everything and sharing the SQLite file, passes the value to
// upstream tools when alice gives its ref as an argument, and nothing the upstream answers
// reaches her:
//   - echo of the private value: a withheld ref, no digit of the value in anything she gets;
//   - the ref is hers to pass on, not to read (get_cached_result refuses it);
//   - a call that fails on the private value (wrong type upstream): answered like a success,
//     the error's text (which quotes the value) withheld too;
//   - a long-running operation whose duration and steps are private (parts of a private list,
//     by ref path): no progress reaches her;
//   - bob, another user behind the same gateway, cannot use alice's ref nor tell it from one
//     that does not exist.
//
//   node private.mjs --gateway BIN --analysis BIN
import fs from 'node:fs';
import path from 'node:path';
import { EVERYTHING, check, connectHttp, requiredOptions, sc, scene, startHttp, step } from './harness.mjs';

const [GATEWAY, ANALYSIS] = requiredOptions('private.mjs', '--gateway', '--analysis');
const { work, children } = scene('refcache-gateway-private-', 90);
const everythingOf = (r) => JSON.stringify(r);

async function main() {
  const db = path.join(work, 'cache.db');
  const ALICE = 'alice-' + Math.random().toString(36).slice(2);
  const BOB = 'bob-' + Math.random().toString(36).slice(2);
  const users = ['--bearer-token', `${ALICE}=alice`, '--bearer-token', `${BOB}=bob`];
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify({ mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } } }));
  const [ana, gw] = await Promise.all([
    startHttp(ANALYSIS, ['--backend', `sqlite:${db}`, ...users], 'refcache-data-analysis', children),
    startHttp(GATEWAY, ['--config', configPath, '--backend', `sqlite:${db}`, ...users], 'refcache-gateway', children)]);
  const aliceAna = await connectHttp(ana.url, ALICE, 'alice-analysis');
  const alice = await connectHttp(gw.url, ALICE, 'alice-gateway');
  const bob = await connectHttp(gw.url, BOB, 'bob-gateway');

  const SECRET = [912345.5, 876543.25];
  const stored = sc(await aliceAna.callTool({ name: 'store_private_data', arguments: { data: SECRET } }));
  check(stored.value_withheld === true && typeof stored.ref_id === 'string', 'alice stores a private list', stored);
  const leaks = (r) => ['912345', '876543'].some((d) => everythingOf(r).includes(d));

  const echoed = await alice.callTool({ name: 'echo', arguments: { message: stored.ref_id } });
  check(echoed.isError !== true && sc(echoed).value_withheld === true && typeof sc(echoed).ref_id === 'string',
    'echo of the private value answers a withheld ref', echoed);
  check(!leaks(echoed), 'no digit of the private value in the answer', echoed);
  step(`echo(${stored.ref_id}) behind the gateway: ${sc(echoed).ref_id}, withheld`);

  const read = await alice.callTool({ name: 'get_cached_result', arguments: { ref_id: sc(echoed).ref_id } });
  check(read.isError === true && !leaks(read), 'alice may not read the echo\'s result', read);
  const page = await alice.callTool({ name: 'get_cached_result', arguments: { ref_id: sc(echoed).ref_id, page: 1, page_size: 1 } });
  check(page.isError === true && !leaks(page), 'nor page it', page);
  step('the withheld result is refused to its own caller');

  const failed = await alice.callTool({ name: 'get-sum', arguments: { a: stored.ref_id, b: 1 } });
  check(failed.isError !== true && sc(failed).value_withheld === true && !leaks(failed),
    'a call that fails on the private value is answered like a success, its error withheld', failed);
  step('a failure on private values is not told');

  const timing = sc(await aliceAna.callTool({ name: 'store_private_data', arguments: { data: [0.4, 2] } }));
  check(timing.value_withheld === true, 'alice stores a private duration and step count', timing);
  const progress = [];
  const long = await alice.callTool({ name: 'trigger-long-running-operation',
    arguments: { duration: `${timing.ref_id}#/0`, steps: `${timing.ref_id}#/1` } },
  undefined, { onprogress: (p) => progress.push(p), timeout: 30000 });
  check(long.isError !== true && sc(long).value_withheld === true && !leaks(long), 'a long operation on a private value is withheld', long);
  check(progress.length === 0, 'and none of its progress reaches the caller', progress);
  // The same call with a value alice may read shows its progress: the test can tell.
  const open = [];
  await alice.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 } },
    undefined, { onprogress: (p) => open.push(p), timeout: 30000 });
  check(open.length === 2, 'the same operation on plain values reports its progress', open);
  step('progress of a computation on private values is dropped');

  // A ref of another server's cache that the caller may not use is passed on as written, as
  // one that does not exist is (the upstream may know it): bob cannot tell them apart.
  const bobs = await bob.callTool({ name: 'echo', arguments: { message: stored.ref_id } });
  const none = 'data-analysis:00000000deadbeef';
  const nobody = await bob.callTool({ name: 'echo', arguments: { message: none } });
  const norm = (r) => JSON.stringify(r).replaceAll(stored.ref_id, 'REF').replaceAll(none, 'REF');
  check(!leaks(bobs) && norm(bobs) === norm(nobody),
    'bob\'s call with alice\'s private ref is answered as one with a ref that does not exist', { bobs, nobody });
  step('another user cannot use it, nor tell that it exists');

  for (const c of [aliceAna, alice, bob]) await c.close();
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => check(false, 'unexpected error', String(e?.stack ?? e)));
