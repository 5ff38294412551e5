// Redis killed (SIGKILL) and restarted while both product servers are under load.
//
// A real redis-server with a password and the append-only file fsynced on every write
// (appendonly yes, appendfsync always); refcache-calculator and refcache-data-analysis find it
// through REDIS_HOST/REDIS_PORT/REDIS_PASSWORD. Several concurrent callers per server run the
// mixed workload (writes, pages, cross-server use) while Redis is killed and restarted, twice.
// Asserted:
//   - no server crashes; every call is answered within its bound (10 s): a correct result,
//     or a clear error (a tool error naming the backend, or a JSON-RPC error with a message);
//   - the outage is seen (calls fail while Redis is down) and the service comes back: each
//     server answers a call correctly within 5 s of Redis answering again (figure printed);
//   - afterwards every call succeeds for 2 s;
//   - no acknowledged write is lost: every ref whose store was answered before a kill (and
//     every other acknowledged ref) reads back whole, on both servers;
//   - the password appears in no log line.
//
//   node redis_restart.mjs --calc BIN --analysis BIN [--callers N] [--cycles N]
import { check, deadline, fail, options, round, sleep, startRedis, startServer } from './lib.mjs';
import { Workload, tally } from './workload.mjs';

const { opt } = options();
const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
const CALLERS = Number(opt('--callers', 3));
const CYCLES = Number(opt('--cycles', 2));
if (!CALC || !ANALYSIS) fail('usage: redis_restart.mjs --calc BIN --analysis BIN');
deadline(150, 'redis_restart');

const redis = await startRedis({ aof: true });
// Every call comes from one address, which is one caller: its quota would evict the refs the
// workload pages later. Quotas are tested in tests/e2e/security.
const unlimited = ['--quota-entries', '0', '--quota-bytes', '0'];
const calc = await startServer(CALC, unlimited, redis.env());
const analysis = await startServer(ANALYSIS, unlimited, redis.env());
console.log(`redis on ${redis.port} (AOF, fsync always); calculator ${calc.base}; data-analysis ${analysis.base}`);

const w = new Workload({ calc: () => calc.url, analysis: () => analysis.url });
let running = true;
// Callers per server: calculator callers write and page; data-analysis callers write, page
// and use calculator refs.
const loops = [];
for (let i = 0; i < CALLERS; ++i) {
  loops.push((async () => {
    while (running) await w.step({ write_calc: 3, page: 1 }).then((a) => a ?? sleep(5));
  })());
  loops.push((async () => {
    while (running) await w.step({ write_analysis: 2, cross: 1, page: 1 }).then((a) => a ?? sleep(5));
  })());
}

const t = () => performance.now();
const cycles = [];
await sleep(2500);
for (let c = 0; c < CYCLES; ++c) {
  const ackedBefore = w.acked.length;
  const tKill = t();
  await redis.kill9();
  await sleep(1500);
  const tBack = await redis.start().then(() => t());
  // First correct answer of each server to a call made after Redis answered again.
  const firstOk = async (server) => {
    for (;;) {
      const e = w.events.find((x) => x.server === server && x.kind === 'ok' && x.t0 >= tBack);
      if (e) return e.t1 - tBack;
      if (t() - tBack > 5000) return Infinity;
      await sleep(5);
    }
  };
  const [recCalc, recAnalysis] = await Promise.all([firstOk('calc'), firstOk('analysis')]);
  const down = w.events.filter((e) => e.t0 >= tKill + 100 && e.t1 <= tBack);
  cycles.push({ cycle: c + 1, acked_before_kill: ackedBefore, calls_while_down: down.length,
    failed_while_down: down.filter((e) => e.kind !== 'ok').length,
    recovery_ms: { calculator: round(recCalc), data_analysis: round(recAnalysis) } });
  check(down.some((e) => e.server === 'calc' && e.kind !== 'ok') && down.some((e) => e.server === 'analysis' && e.kind !== 'ok'),
    `cycle ${c + 1}: both servers report the outage while Redis is down`, cycles.at(-1));
  check(recCalc <= 5000 && recAnalysis <= 5000,
    `cycle ${c + 1}: service back within 5 s of Redis answering (calculator ${round(recCalc)} ms, data-analysis ${round(recAnalysis)} ms)`);
  await sleep(2500);
}
// Steady state after the last restart: every call succeeds.
const tSteady = t();
await sleep(2000);
running = false;
await Promise.all(loops);
const steady = w.events.filter((e) => e.t0 >= tSteady);
check(steady.length > 0 && steady.every((e) => e.kind === 'ok'), `all ${steady.length} calls of the last 2 s succeed`,
  steady.filter((e) => e.kind !== 'ok').slice(0, 5));

check(calc.alive() && analysis.alive(), 'neither server crashed', { calc: calc.exitStatus(), analysis: analysis.exitStatus() });
const hung = w.events.filter((e) => e.kind === 'timeout');
check(hung.length === 0, 'no call hung (each answered within 10 s)', hung.slice(0, 5));
const broken = w.events.filter((e) => e.kind === 'transport');
check(broken.length === 0, 'every call got an MCP answer (no reset, no non-MCP reply)', broken.slice(0, 5));
const unclear = w.events.filter((e) => (e.kind === 'tool_error' || e.kind === 'rpc_error') && !e.clear);
check(unclear.length === 0, 'every error names the backend problem', unclear.slice(0, 5));
check(w.wrong.length === 0, 'every successful answer carries the right value', w.wrong.slice(0, 5));
const maxMs = Math.max(...w.events.map((e) => e.ms));

// No acknowledged write lost: read every acknowledged ref back whole, alternating servers.
let lost = [];
const refs = w.acked.slice();
for (let i = 0; i < refs.length; i += 16) {
  const batch = refs.slice(i, i + 16);
  const ok = await Promise.all(batch.map((r, j) => w.verify(r, (i + j) % 2 ? 'calc' : 'analysis')));
  lost = lost.concat(batch.filter((_, j) => !ok[j]).map((r) => r.ref));
}
const beforeKill = cycles.length ? cycles.at(-1).acked_before_kill : 0;
check(lost.length === 0, `all ${refs.length} acknowledged refs read back whole (${beforeKill} acknowledged before the last kill)`, lost.slice(0, 10));

const leaked = [calc.log(), analysis.log()].some((l) => l.includes(redis.password));
check(!leaked, 'the Redis password is in no log line');

const totals = tally(w.events);
const errorTexts = [...new Set(w.events.filter((e) => e.text).map((e) => e.text.replace(/\d+/g, 'N').slice(0, 160)))].slice(0, 6);
console.log(JSON.stringify({ test: 'redis_restart', callers_per_server: CALLERS, cycles, totals,
  acknowledged_refs: refs.length, max_call_ms: round(maxMs), error_texts: errorTexts }));
await calc.stop();
await analysis.stop();
await redis.stop();
console.log('PASS redis_restart');
process.exit(0);
