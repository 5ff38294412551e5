// Invalidation notifications across processes: two servers share a password-protected
// redis-server (started here on a free port); clients subscribed on server B hear about refs
// deleted or cleared through server A -- a legacy 2025-11-25 session (resources/subscribe,
// @modelcontextprotocol/sdk 1.x) and a 2026-07-28 subscriptions/listen stream
// (@modelcontextprotocol/client 2.x) -- and a user who may not read the ref hears nothing.
// Then the same over a shared SQLite file, which has no cross-process events: the servers'
// watch (--watch-interval) notices refs that vanished.
//   node notify.mjs --calc BIN --analysis BIN
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { expect as check, scene, startHttp, startRedis } from '../harness.mjs';

const args = process.argv.slice(2);
const opt = (n) => args[args.indexOf(n) + 1];
const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
const { work, children } = scene('refcache-notify-', 150);

// A server over HTTP on `backend`; resolves with its origin (http://host:port).
async function start(bin, backend, extra) {
  const { url } = await startHttp(bin, ['--backend', backend, ...extra], path.basename(bin), children);
  return url.origin;
}

const auth = (t) => ({ requestInit: { headers: { Authorization: `Bearer ${t}` } } });

// A legacy-era client that records the URIs of notifications/resources/updated.
async function legacyClient(base, token) {
  const c = new Client({ name: 'notify-legacy', version: '1.0.0' });
  c.updated = [];
  c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { c.updated.push(n.params.uri); });
  await c.connect(new StreamableHTTPClientTransport(new URL(base + '/mcp'), auth(token)));
  return c;
}

// A 2026-07-28 client; notifications on its listen stream reach the same handler API.
async function modernClient(base, token) {
  const c = new ModernClient({ name: 'notify-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  c.updated = [];
  c.setNotificationHandler('notifications/resources/updated', (n) => { c.updated.push(n.params.uri); });
  await c.connect(new ModernTransport(new URL(base + '/mcp'), auth(token)));
  check(c.getProtocolEra() === 'modern', 'the 2.x client speaks 2026-07-28');
  return c;
}

// Bounded wait for a condition (no timing assertion: only an upper bound).
async function until(cond, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

async function call(c, name, a) {
  const r = await c.callTool({ name, arguments: a });
  return { error: !!r.isError, sc: r.structuredContent, text: (r.content ?? []).map((x) => x.text ?? '').join(' ') };
}

const redis = (await startRedis(work, children)).url;
const common = ['--bearer-token', 'alice-token=alice', '--bearer-token', 'bob-token=bob', '--admin', 'alice',
  '--namespace-template', 'user:{user_id}'];
const baseA = await start(CALC, redis, common);
const baseB = await start(ANALYSIS, redis, common);
console.log(`server A ${baseA}, server B ${baseB}, sharing ${redis.replace(/:[^:@/]*@/, ':***@')}`);

async function writer(base) {
  const c = new Client({ name: 'notify-writer', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(base + '/mcp'), auth('alice-token')));
  c.ref = async (count) => {
    const r = await call(c, 'generate_primes', { count });
    check(!r.error && r.sc.ref_id, `alice stores primes(${count}) through A`, r);
    return r.sc.ref_id;
  };
  return c;
}

// The legacy standalone stream (GET) opens asynchronously after initialize. Probe until a
// deletion through A reaches `sub` on B, so the real checks after it cannot race the stream.
async function settle(w, sub, how) {
  for (let i = 0; i < 20; i++) {
    const probe = await w.ref(200 + i);
    await sub.subscribeResource({ uri: `refcache://${probe}` });
    const del = await call(w, 'delete_reference', { ref_id: probe });
    check(del.sc?.success === true, 'probe deleted through A', del);
    if (await until(() => sub.updated.includes(`refcache://${probe}`), 3000)) {
      check(true, `a deletion through A reaches a legacy subscriber on B (${how})`);
      sub.updated.length = 0;
      return;
    }
  }
  check(false, `a deletion through A reaches a legacy subscriber on B (${how})`);
}

const aliceA = await writer(baseA);
const ref = aliceA.ref;
const aliceLegacy = await legacyClient(baseB, 'alice-token');
const bobLegacy = await legacyClient(baseB, 'bob-token');
await settle(aliceA, aliceLegacy, 'Redis pub/sub');

const r1 = await ref(30);
const r2 = await ref(31);
const u1 = `refcache://${r1}`;
const u2 = `refcache://${r2}`;

// --- subscribing ------------------------------------------------------------------------------
await aliceLegacy.subscribeResource({ uri: u1 });
await aliceLegacy.subscribeResource({ uri: u2 });
check(true, 'alice subscribes to her refs on B (legacy resources/subscribe)');
let refused = null;
try { await bobLegacy.subscribeResource({ uri: u1 }); } catch (e) { refused = e; }
check(refused !== null && /not found/i.test(String(refused.message)),
  'bob may not subscribe to alice\'s ref: the same answer as a missing ref', String(refused?.message));
let missing = null;
try { await bobLegacy.subscribeResource({ uri: 'refcache://calculator:00000000deadbeef' }); } catch (e) { missing = e; }
check(missing !== null && missing.code === refused.code && missing.message === refused.message,
  'a missing ref gets that same answer', [missing?.code, refused?.code]);

const aliceModern = await modernClient(baseB, 'alice-token');
const subA = await aliceModern.listen({ resourceSubscriptions: [u1, u2] });
check(JSON.stringify(subA.honoredFilter.resourceSubscriptions?.slice().sort()) === JSON.stringify([u1, u2].sort()),
  'alice\'s listen stream on B is acknowledged with both refs', subA.honoredFilter);
const bobModern = await modernClient(baseB, 'bob-token');
const subB = await bobModern.listen({ resourceSubscriptions: [u1, u2] });
check((subB.honoredFilter.resourceSubscriptions ?? []).length === 0,
  'bob\'s listen stream leaves out refs he may not read', subB.honoredFilter);

// --- deletion through A -------------------------------------------------------------------------
const del = await call(aliceA, 'delete_reference', { ref_id: r1 });
check(del.sc?.success === true, 'alice deletes ref 1 through A', del);
check(await until(() => aliceLegacy.updated.includes(u1)), 'legacy subscriber on B notified of the deletion', aliceLegacy.updated);
check(await until(() => aliceModern.updated.includes(u1)), 'modern listen stream on B notified of the deletion', aliceModern.updated);
check(!aliceLegacy.updated.includes(u2) && !aliceModern.updated.includes(u2), 'nothing about the untouched ref');

// --- clearing the namespace through A ------------------------------------------------------------
const clr = await call(aliceA, 'clear_namespace', { namespace: 'user:alice' });
check(clr.sc?.success === true && clr.sc.deleted_count >= 1, 'alice clears user:alice through A', clr);
check(await until(() => aliceLegacy.updated.includes(u2)), 'legacy subscriber notified of the cleared ref', aliceLegacy.updated);
check(await until(() => aliceModern.updated.includes(u2)), 'modern listen stream notified of the cleared ref', aliceModern.updated);

// bob was refused on both paths: by the time alice heard everything, nothing reached him.
check(bobLegacy.updated.length === 0 && bobModern.updated.length === 0, 'bob heard nothing about alice\'s refs',
  [bobLegacy.updated, bobModern.updated]);

// B's metrics saw the events arrive from A and count what was sent.
{
  const res = await fetch(baseB + '/metrics', { headers: { Authorization: 'Bearer bob-token' } });
  const text = await res.text();
  const value = (s) => Number((text.match(new RegExp('^' + s.replace(/[{}"]/g, '\\$&') + ' (\\S+)$', 'm')) ?? [])[1]);
  check(value('refcache_change_events_total{kind="deleted"}') >= 2, 'B counted the deletions made by A', value('refcache_change_events_total{kind="deleted"}'));
  check(value('refcache_change_events_total{kind="cleared"}') >= 1, 'B counted the clear made by A');
  check(value('refcache_resource_notifications_total{result="sent"}') >= 5, 'B counted the notifications it sent',
    value('refcache_resource_notifications_total{result="sent"}'));
}

await subA.close();
await subB.close();
for (const c of [aliceA, aliceLegacy, bobLegacy, aliceModern, bobModern]) await c.close().catch(() => {});

// --- SQLite: no cross-process events; the watch notices what vanished -----------------------
{
  const db = 'sqlite:' + path.join(work, 'shared.db');
  const watch = ['--watch-interval', '0.2'];
  const sA = await start(CALC, db, [...common, ...watch]);
  const sB = await start(ANALYSIS, db, [...common, ...watch]);
  const w = await writer(sA);
  const alice = await legacyClient(sB, 'alice-token');
  await settle(w, alice, 'SQLite, through the watch');
  const modern = await modernClient(sB, 'alice-token');
  const r = await w.ref(40);
  const u = `refcache://${r}`;
  await alice.subscribeResource({ uri: u });
  const sub = await modern.listen({ resourceSubscriptions: [u] });
  const d = await call(w, 'delete_reference', { ref_id: r });
  check(d.sc?.success === true, 'alice deletes a ref through A (SQLite)', d);
  check(await until(() => alice.updated.includes(u)), 'SQLite: legacy subscriber on B notified', alice.updated);
  check(await until(() => modern.updated.includes(u)), 'SQLite: modern listen stream on B notified', modern.updated);
  await sub.close();
  for (const c of [w, alice, modern]) await c.close().catch(() => {});
}
for (const c of children) check(c.exitCode === null, 'servers and redis still running');
console.log('PASS notify');
process.exit(0);
