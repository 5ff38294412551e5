// A server killed with SIGKILL in the middle of writes to the SQLite file it shares with the
// other server.
//
// refcache-calculator and refcache-data-analysis share one SQLite file (WAL). Several callers
// per server run the mixed workload (writes on both, pages on both, cross-server use). Three
// times, one of the servers (calculator, data-analysis, calculator) is killed with SIGKILL while
// writes are in flight, `PRAGMA integrity_check` runs on the file while the other server keeps
// writing, and the killed server is started again on the same file. Asserted:
//   - the surviving server answers every call correctly while the other is dead (zero errors);
//   - calls to the killed server fail only while it is down (connection refused or reset);
//   - the file passes PRAGMA integrity_check after each kill and at the end;
//   - no acknowledged write is lost: every ref whose store was answered reads back whole on
//     both servers (those stored by a server later killed included).
//
//   node sqlite_kill.mjs --calc BIN --analysis BIN [--callers N]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { check, deadline, fail, options, round, sleep, startServer, tempDir } from './lib.mjs';
import { Workload, tally } from './workload.mjs';

const { opt } = options();
const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
const CALLERS = Number(opt('--callers', 3));
if (!CALC || !ANALYSIS) fail('usage: sqlite_kill.mjs --calc BIN --analysis BIN');
deadline(120, 'sqlite_kill');

const work = tempDir('sqlite-kill');
const db = path.join(work, 'cache.db');
// Every call comes from one address, which is one caller: its quota would evict the refs the
// workload pages later. Quotas are tested in tests/e2e/security.
const args = ['--backend', 'sqlite:' + db, '--quota-entries', '0', '--quota-bytes', '0'];
const bins = { calc: CALC, analysis: ANALYSIS };
const servers = { calc: await startServer(CALC, args), analysis: await startServer(ANALYSIS, args) };
const up = { calc: true, analysis: true };
console.log(`shared SQLite file ${db}; calculator ${servers.calc.base}; data-analysis ${servers.analysis.base}`);

function integrity() {
  const r = spawnSync('sqlite3', [db, 'PRAGMA integrity_check;'], { timeout: 30000 });
  return { status: r.status, out: r.stdout?.toString().trim(), err: r.stderr?.toString().trim() };
}

const w = new Workload({ calc: () => (up.calc ? servers.calc.url : null), analysis: () => (up.analysis ? servers.analysis.url : null) });
let running = true;
const loops = [];
for (let i = 0; i < CALLERS; ++i) {
  loops.push((async () => { while (running) await w.step({ write_calc: 3, page: 1 }).then((a) => a ?? sleep(5)); })());
  loops.push((async () => { while (running) await w.step({ write_analysis: 2, cross: 1, page: 1 }).then((a) => a ?? sleep(5)); })());
}

const t = () => performance.now();
const windows = [];   // { victim, tKill, tBack }
await sleep(1500);
for (const victim of ['calc', 'analysis', 'calc']) {
  const tKill = t();
  const inFlightWrites = w.events.length;  // for the report only
  await servers[victim].kill9();
  up[victim] = false;
  const win = { victim, tKill, tBack: Infinity, killed_after_calls: inFlightWrites };
  windows.push(win);
  await sleep(1000);
  const ic = integrity();
  check(ic.status === 0 && ic.out === 'ok', `integrity_check ok right after ${victim} was killed, the other still writing`, ic);
  const survivor = victim === 'calc' ? 'analysis' : 'calc';
  const during = w.events.filter((e) => e.server === survivor && e.t0 >= tKill);
  servers[victim] = await startServer(bins[victim], args);
  up[victim] = true;
  win.tBack = t();
  check(during.length > 0 && during.every((e) => e.kind === 'ok'),
    `the other server answered all ${during.length} calls correctly while ${victim} was dead`, during.filter((e) => e.kind !== 'ok').slice(0, 5));
  await sleep(1500);
}
running = false;
await Promise.all(loops);

// Calls to a killed server may fail only around its death (in flight, or sent while it was down).
const excused = (e) => windows.some((win) => e.server === win.victim && e.t1 >= win.tKill && e.t0 <= win.tBack);
const bad = w.events.filter((e) => e.kind !== 'ok' && !excused(e));
check(bad.length === 0, 'every other call succeeded', bad.slice(0, 5));
const failedAtKill = w.events.filter((e) => e.kind !== 'ok' && excused(e));
check(failedAtKill.every((e) => e.kind === 'transport'), 'calls to a killed server fail as connection errors, never hang',
  failedAtKill.filter((e) => e.kind !== 'transport').slice(0, 5));
check(w.wrong.length === 0, 'every successful answer carries the right value', w.wrong.slice(0, 5));

let lost = [];
const refs = w.acked.slice();
for (const server of ['calc', 'analysis']) {
  for (let i = 0; i < refs.length; i += 16) {
    const batch = refs.slice(i, i + 16);
    const ok = await Promise.all(batch.map((r) => w.verify(r, server)));
    lost = lost.concat(batch.filter((_, j) => !ok[j]).map((r) => `${server}: ${r.ref}`));
  }
}
const byVictim = Object.fromEntries(['calc', 'analysis'].map((s) => [s, refs.filter((r) => r.server === s).length]));
check(lost.length === 0, `all ${refs.length} acknowledged refs read back whole on both servers`, lost.slice(0, 10));

check(servers.calc.alive() && servers.analysis.alive(), 'both servers running at the end');
await servers.calc.stop();
await servers.analysis.stop();
const ic = integrity();
check(ic.status === 0 && ic.out === 'ok', 'integrity_check ok at the end', ic);
console.log(JSON.stringify({ test: 'sqlite_kill', callers_per_server: CALLERS, kills: windows.map((x) => x.victim),
  totals: tally(w.events), failed_calls_to_killed_server: failedAtKill.length, acknowledged_refs: byVictim,
  max_call_ms: round(Math.max(...w.events.map((e) => e.ms))) }));
console.log('PASS sqlite_kill');
process.exit(0);
