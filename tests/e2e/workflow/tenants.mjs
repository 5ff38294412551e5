// Tenants through the servers, with the official TypeScript client over HTTP: two calculators
// share one redis-server and a tenants file that puts alice and dave in tenant acme and bob in
// tenant globex (by user), each tenant in a key prefix of its own; carol has no tenant and uses
// the servers' own store.
//  - a ref made by alice on one server is read by dave on the other (one tenant, one store);
//  - bob and carol get the opaque error for it, as for a forged ref, even though its namespace
//    is public, and bob's identical call is computed again in globex's store;
//  - every key in Redis is under the prefix of the store that wrote it;
//  - a subscription hears of a change in its tenant's store made through the other server, and
//    a subscription to another tenant's ref is refused;
//  - an administrator sees and clears its own tenant's refs only;
//  - a tenants file that would put every tenant in one store is refused at start-up.
//   node tenants.mjs --calc BIN
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { check, connectHttp, expect, requiredOptions, scene, sleep, startHttp, startRedis } from '../harness.mjs';

const [CALC] = requiredOptions('tenants.mjs', '--calc');
const { work, children } = scene('refcache-tenants-', 120);
const redis = await startRedis(work, children);
const port = new URL(redis.url).port;

const tenantsFile = path.join(work, 'tenants.json');
fs.writeFileSync(tenantsFile, JSON.stringify({
  backend: `${redis.url}?key_prefix=tenant:{tenant}:`,
  users: { alice: 'acme', dave: 'acme', bob: 'globex' },
}));
const flags = ['--backend', `${redis.url}?key_prefix=own:`, '--tenants', tenantsFile,
  '--bearer-token', 'a-token=alice', '--bearer-token', 'd-token=dave',
  '--bearer-token', 'b-token=bob', '--bearer-token', 'c-token=carol',
  '--admin', 'alice', '--admin', 'bob'];
const one = await startHttp(CALC, flags, 'calculator 1', children);
const two = await startHttp(CALC, flags, 'calculator 2', children);

const alice = await connectHttp(one.url, 'a-token', 'alice');
const dave = await connectHttp(two.url, 'd-token', 'dave');
const bob = await connectHttp(two.url, 'b-token', 'bob');
const carol = await connectHttp(one.url, 'c-token', 'carol');

const call = async (c, name, args) => {
  const r = await c.callTool({ name, arguments: args });
  return { error: !!r.isError, sc: r.structuredContent ?? {}, text: (r.content ?? []).map((b) => b.text ?? '').join('') };
};
const keys = () => spawnSync('redis-cli', ['-p', port, '-a', redis.password, '--no-auth-warning', '--scan'])
  .stdout.toString().split('\n').filter((k) => k.length > 0);

// --- one tenant, two servers ------------------------------------------------------------------
const made = await call(alice, 'generate_primes', { count: 500 });
const ref = made.sc.ref_id;
expect(!made.error && typeof ref === 'string', 'alice (acme) gets a ref for 500 primes', made);
const byDave = await call(dave, 'get_cached_result', { ref_id: ref, page: 1, page_size: 5 });
expect(!byDave.error && JSON.stringify(byDave.sc).includes('[2,3,5,7,11]'),
  "dave (acme) reads alice's ref on the other server: one tenant, one store", byDave);

const part = `${ref}#/3`;  // the fourth prime, 7
const chained = await call(dave, 'generate_sequence', { sequence_type: 'arithmetic', count: 3, start: part, step: 1 });
expect(!chained.error && JSON.stringify(chained.sc).includes('[7,8,9]'),
  "dave passes a part of alice's ref as an argument on the other server", chained);

// --- the other tenant, and no tenant --------------------------------------------------------
for (const [who, c] of [['bob (globex)', bob], ['carol (no tenant)', carol]]) {
  const r = await call(c, 'get_cached_result', { ref_id: ref });
  expect(r.error && r.sc.error === 'Invalid or inaccessible reference' && !r.text.includes('"2,3,5'),
    `${who} gets the opaque error for acme's public ref`, r);
  const passed = await call(c, 'generate_sequence', { sequence_type: 'arithmetic', count: 3, start: part, step: 1 });
  expect(passed.error && !passed.text.includes('[7,8,9]'), `${who} cannot pass it as an argument`, passed);
}
const bobs = await call(bob, 'generate_primes', { count: 500 });
expect(!bobs.error && bobs.sc.ref_id !== ref, "bob's identical call is computed in globex's store, not answered with acme's ref", bobs);
const carols = await call(carol, 'generate_primes', { count: 500 });
expect(!carols.error && carols.sc.ref_id !== ref && carols.sc.ref_id !== bobs.sc.ref_id,
  "carol's lands in the servers' own store", carols);

// --- where the keys are --------------------------------------------------------------------------
const all = keys();
const under = (prefix, id) => all.filter((k) => k.includes(id)).every((k) => k.startsWith(prefix)) &&
  all.some((k) => k.includes(id));
expect(all.every((k) => /^(tenant:acme:|tenant:globex:|own:)/.test(k)),
  `all ${all.length} keys in Redis are under tenant:acme:, tenant:globex: or own:`, all);
expect(under('tenant:acme:', ref) && under('tenant:globex:', bobs.sc.ref_id) && under('own:', carols.sc.ref_id),
  "each ref's keys are under its own tenant's prefix only", all);

// --- subscriptions: within the tenant, across servers ------------------------------------------
// dave's server listens to acme's store once dave subscribes to a ref in it; a deletion on the
// other server reaches him. The legacy stream opens after initialize: probe until one arrives.
const updated = [];
dave.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updated.push(n.params.uri); });
let heard = false;
for (let i = 0; i < 20 && !heard; i++) {
  const probe = (await call(alice, 'generate_primes', { count: 600 + i })).sc.ref_id;
  await dave.subscribeResource({ uri: `refcache://${probe}` });
  const del = await call(alice, 'delete_reference', { ref_id: probe });
  check(del.sc.success === true, 'alice deletes her probe', del);
  for (let k = 0; k < 30 && !heard; k++) {
    heard = updated.includes(`refcache://${probe}`);
    if (!heard) await sleep(100);
  }
}
expect(heard, "a deletion in acme's store on one server reaches dave's subscription on the other");
let refusedSub = null;
try { await bob.subscribeResource({ uri: `refcache://${ref}` }); } catch (e) { refusedSub = e; }
expect(refusedSub !== null, "bob (globex) cannot subscribe to acme's ref", String(refusedSub));

// --- administrators: their own tenant's store -------------------------------------------------
const listA = await call(alice, 'list_references', {});
const idsA = (listA.sc.references ?? []).map((r) => r.ref_id);
expect(!listA.error && idsA.includes(ref) && !idsA.includes(bobs.sc.ref_id) && !idsA.includes(carols.sc.ref_id),
  "alice's list_references shows acme's refs only", listA);
const statsB = await call(bob, 'get_cache_stats', {});
expect(!statsB.error && statsB.sc.tenant === 'globex', "bob's get_cache_stats names his tenant, globex", statsB);
const cleared = await call(bob, 'clear_namespace', { namespace: 'sequences' });
expect(!cleared.error && cleared.sc.deleted_count >= 1, 'bob clears the sequences namespace of globex', cleared);
const still = await call(dave, 'get_cached_result', { ref_id: ref, page: 1, page_size: 5 });
expect(!still.error, "acme's ref is untouched by globex's administrator", still);
const gone = await call(bob, 'get_cached_result', { ref_id: bobs.sc.ref_id });
expect(gone.error, "globex's own ref is gone", gone);

// --- a tenants file without separation is refused -------------------------------------------
const shared = path.join(work, 'shared.json');
fs.writeFileSync(shared, JSON.stringify({ backend: redis.url }));
const refused = spawnSync(CALC, ['--tenants', shared, '--backend', 'memory:'], { encoding: 'utf8', timeout: 20000 });
expect(refused.status === 2 && refused.stderr.includes('{tenant}'),
  'a tenants file whose backend has no {tenant} is refused with exit code 2', refused.stderr);
for (const c of [alice, dave, bob, carol]) await c.close();
console.log('tenants: all checks passed');
process.exit(0);
