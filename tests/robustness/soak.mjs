// Load and soak: both product servers under the mixed workload from several client
// processes for a bounded time.
//
// refcache-calculator and refcache-data-analysis share one cache (a SQLite file, or with
// --backend redis a Redis with a password and AOF fsynced every second, as deploy/ runs it). CLIENTS client processes each run CONCURRENCY
// callers of the mixed workload (workload.mjs: writes on both servers, previews, pages through
// get_cached_result on either server, calculator refs used by data-analysis) for SECONDS
// (default 60; env REFCACHE_SOAK_SECONDS or --seconds for longer). Every answer is checked.
// Resident memory and descriptors of both servers are sampled every second. Asserted:
//   - zero errors: every call answered, correctly, within 10 s;
//   - both servers alive at the end;
//   - after warm-up (the first quarter, at least 10 s) the heap (RssAnon of /proc/PID/status;
//     VmRSS also counts the mmap'ed SQLite file, which grows with the data) shows no upward
//     trend: the second half of the run peaks within +max(4 MiB, 10%) of the first; in runs of
//     up to 120 s it also stays within +max(8 MiB, 25%) of its value at the end of warm-up;
//     descriptors stay within +8 (SQLite's lazily opened per-thread connections).
// Prints one JSON line: calls/s, p50/p99 overall and per operation, the samples' figures.
//
//   node soak.mjs --calc BIN --analysis BIN [--seconds N] [--clients N] [--concurrency N]
//                 [--backend sqlite|redis] [--no-assert]
// (--client is the internal mode of the client processes.)
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, deadline, fail, options, percentile, procStats, round, sleep, startRedis, startServer, tempDir } from './lib.mjs';
import { Workload } from './workload.mjs';

const { opt, has } = options();

if (has('--client')) {
  // One client process: callers until the end time, then figures on stdout.
  const w = new Workload({ calc: () => opt('--calc-url'), analysis: () => opt('--analysis-url') }, { seed: Number(opt('--seed')) });
  w.keepEvents = false;
  const until = performance.now() + Number(opt('--seconds')) * 1000;
  const lat = {};
  const errors = [];
  let calls = 0;
  let errorCount = 0;
  const callers = Array.from({ length: Number(opt('--concurrency')) }, async () => {
    while (performance.now() < until) {
      const a = await w.step();
      if (!a) continue;
      ++calls;
      (lat[a.event.op] ??= []).push(round(a.ms, 3));
      if (a.kind !== 'ok') ++errorCount;
      if (a.kind !== 'ok' && errors.length < 20) errors.push({ op: a.event.op, server: a.event.server, kind: a.kind, text: a.event.text });
      if (w.acked.length > 4000) w.acked.splice(0, 2000);  // bounded client memory
    }
  });
  await Promise.all(callers);
  // Exit only once the pipe took everything (process.exit would cut a large write short).
  process.stdout.write(JSON.stringify({ calls, errorCount, errors, wrong: w.wrong.slice(0, 20), wrongCount: w.wrong.length, lat }) + '\n',
    () => process.exit(0));
  await new Promise(() => {});
}

const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
const SECONDS = Number(opt('--seconds', process.env.REFCACHE_SOAK_SECONDS ?? 60));
const CLIENTS = Number(opt('--clients', 3));
const CONCURRENCY = Number(opt('--concurrency', 4));
const BACKEND = opt('--backend', 'sqlite');
const ASSERT = !has('--no-assert');
if (!CALC || !ANALYSIS) fail('usage: soak.mjs --calc BIN --analysis BIN [--seconds N] [--clients N] [--concurrency N] [--backend sqlite|redis]');
deadline(SECONDS + 90, 'soak');

let redis = null;
let args = [];
let env = {};
if (BACKEND === 'redis') {
  redis = await startRedis({ aof: true, fsync: 'everysec' });
  env = redis.env();
} else {
  args = ['--backend', 'sqlite:' + path.join(tempDir('soak'), 'cache.db')];
}
// Every call comes from one address, which is one caller: its quota would evict the refs the
// workload pages later. Quotas are tested in tests/e2e/security.
args.push('--quota-entries', '0', '--quota-bytes', '0');
const calc = await startServer(CALC, args, env);
const analysis = await startServer(ANALYSIS, args, env);
console.log(`soak: ${SECONDS} s, ${CLIENTS} client processes x ${CONCURRENCY} callers, ${BACKEND}; calculator ${calc.base}, data-analysis ${analysis.base}`);

const self = fileURLToPath(import.meta.url);
const t0 = performance.now();
const clients = Array.from({ length: CLIENTS }, (_, i) => new Promise((resolve) => {
  const p = spawn(process.execPath, [self, '--client', '--calc-url', calc.url, '--analysis-url', analysis.url,
    '--seconds', String(SECONDS), '--concurrency', String(CONCURRENCY), '--seed', String(i + 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.on('exit', (code) => {
    try { resolve(JSON.parse(out)); } catch { resolve({ failed: `client ${i} exited ${code}: ${out.slice(0, 500)}` }); }
  });
}));

// Samples every second while the clients run.
const samples = [];
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    const t = (performance.now() - t0) / 1000;
    try { samples.push({ t, calc: procStats(calc.pid), analysis: procStats(analysis.pid) }); } catch { /* a server died: checked below */ }
    await sleep(1000);
  }
})();
const results = await Promise.all(clients);
const elapsed = (performance.now() - t0) / 1000;
sampling = false;
await sampler;

const crashed = results.filter((r) => r.failed);
if (crashed.length) fail('a client process failed', crashed);
const calls = results.reduce((n, r) => n + r.calls, 0);
const errors = results.flatMap((r) => r.errors);
const wrong = results.flatMap((r) => r.wrong);
const byOp = {};
for (const r of results) for (const [op, l] of Object.entries(r.lat)) (byOp[op] ??= []).push(...l);
const all = Object.values(byOp).flat().sort((a, b) => a - b);
const ops = Object.fromEntries(Object.entries(byOp).map(([op, l]) => {
  l.sort((a, b) => a - b);
  return [op, { calls: l.length, p50_ms: round(percentile(l, 50), 2), p99_ms: round(percentile(l, 99), 2) }];
}));

const warmEnd = Math.max(10, SECONDS / 4);
// Samples taken while the load ran (the clients' exit is not load).
const loaded = samples.filter((x) => x.t <= SECONDS);
const figure = (who) => {
  const warm = loaded.filter((x) => x.t <= warmEnd).at(-1)?.[who];
  const later = loaded.filter((x) => x.t > warmEnd).map((x) => x[who]);
  const half = Math.floor(later.length / 2);
  const max = (xs, k) => Math.max(...xs.map((x) => x[k]));
  return { warm, last: loaded.at(-1)?.[who], maxRss: max(later, 'rssKb'), maxAnon: max(later, 'anonKb'),
    maxAnonFirstHalf: max(later.slice(0, half), 'anonKb'), maxAnonSecondHalf: max(later.slice(half), 'anonKb'), maxFds: max(later, 'fds') };
};
const fc = figure('calc');
const fa = figure('analysis');
const mem = (f) => ({ rss_kb_warm: f.warm?.rssKb, rss_kb_max_after: f.maxRss, anon_kb_warm: f.warm?.anonKb, anon_kb_max_after: f.maxAnon,
  anon_kb_max_halves: [f.maxAnonFirstHalf, f.maxAnonSecondHalf], fds_warm: f.warm?.fds, fds_max_after: f.maxFds });
const line = {
  bench: 'soak', backend: BACKEND, seconds: round(elapsed), clients: CLIENTS, callers_per_client: CONCURRENCY,
  calls, calls_per_s: round(calls / elapsed), p50_ms: round(percentile(all, 50), 2), p99_ms: round(percentile(all, 99), 2),
  errors: results.reduce((n, r) => n + r.errorCount, 0), wrong_values: results.reduce((n, r) => n + r.wrongCount, 0), ops,
  calculator: mem(fc), data_analysis: mem(fa),
};
console.log(JSON.stringify(line));
if (has('--series')) console.log(JSON.stringify(samples.map((x) => [round(x.t), x.calc.rssKb, x.calc.anonKb, x.analysis.rssKb, x.analysis.anonKb])));

if (ASSERT) {
  check(calc.alive() && analysis.alive(), 'both servers alive at the end');
  check(calls > 0 && line.errors === 0, `zero errors in ${calls} calls`, errors.slice(0, 5));
  check(wrong.length === 0, 'every answer carried the right value', wrong.slice(0, 5));
  for (const [name, f] of [['calculator', fc], ['data-analysis', fa]]) {
    check(f.warm && Number.isFinite(f.maxRss), `${name}: sampled after warm-up`);
    // The heap (RssAnon): VmRSS also counts the SQLite file, which the backend maps (up to
    // 256 MiB) and which grows with the data by design. No upward trend: the second half of the
    // run peaks no higher than the first (+max(4 MiB, 10%)); and for runs of the default
    // length, no more than +max(8 MiB, 25%) over the end of warm-up. (Longer runs may fill
    // SQLite's page caches, 8 MiB per connection, which only the trend check allows.)
    const trendTol = Math.max(4096, f.warm.anonKb * 0.1);
    check(f.maxAnonSecondHalf - f.maxAnonFirstHalf <= trendTol,
      `${name}: heap flat after warm-up: peaks ${f.maxAnonFirstHalf} kB then ${f.maxAnonSecondHalf} kB (tolerance ${Math.round(trendTol)} kB; VmRSS ${f.warm.rssKb} -> at most ${f.maxRss} kB)`);
    if (SECONDS <= 120) {
      const tol = Math.max(8192, f.warm.anonKb * 0.25);
      check(f.maxAnon - f.warm.anonKb <= tol, `${name}: heap at most ${f.maxAnon} kB after warm-up, ${f.warm.anonKb} kB at ${round(warmEnd)} s (tolerance ${Math.round(tol)} kB)`);
    }
    check(f.maxFds <= f.warm.fds + 8, `${name}: descriptors flat after warm-up (${f.warm.fds} at ${round(warmEnd)} s, at most ${f.maxFds} after)`);
  }
}
await calc.stop();
await analysis.stop();
if (redis) await redis.stop();
if (ASSERT) console.log('PASS soak');
process.exit(0);
