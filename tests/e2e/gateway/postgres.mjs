// refcache-gateway in front of @modelcontextprotocol/server-postgres (npm) and a real
// PostgreSQL 15 (Debian's, started by postgres_fixture.mjs on a free loopback port with a
// throw-away data directory), driven by the official TypeScript client (@modelcontextprotocol/sdk):
//   - a SELECT of a 100,000-row table becomes a ref whose preview, counted with js-tiktoken
//     (cl100k_base and o200k_base), stays under 2,000 tokens, and whose whole answer is small;
//   - the ref pages by rows, and its full value holds every row as PostgreSQL returned it;
//   - the table's column, passed by ref (with a JSON Pointer) into refcache-data-analysis
//     (a second upstream of the same gateway), gives the statistics SQL computes (count, sum,
//     mean, min, max, sample variance and deviation, median);
//   - the same statistics computed from the 100,000-row ref's rows agree with SQL too;
//   - a small query result passes through unchanged (compared with the server reached directly).
//
//   node postgres.mjs --gateway BIN --analysis BIN
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { getEncoding } from 'js-tiktoken';
import pg from 'pg';
import { startPostgres } from './postgres_fixture.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const GATEWAY = opt('--gateway');
const ANALYSIS = opt('--analysis');
if (!GATEWAY || !ANALYSIS) {
  console.error('usage: node postgres.mjs --gateway BIN --analysis BIN');
  process.exit(2);
}
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const NODE = process.execPath;
const SERVER_POSTGRES = path.join(REPO, 'node_modules/@modelcontextprotocol/server-postgres/dist/index.js');
const ROWS = 100000;

let db;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-gateway-pg-'));
function cleanup() {
  db?.stop();
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
const sc = (r) => r.structuredContent;
const textOf = (r) => r.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

async function main() {
  db = await startPostgres();
  step(`PostgreSQL 15 on ${db.url}`);

  // The table: 100,000 rows; v takes integer and half-integer values, so sums are exact.
  const setup = new pg.Client({ connectionString: db.url });
  await setup.connect();
  await setup.query(`CREATE TABLE measurements (id integer PRIMARY KEY, v double precision NOT NULL,
                       label text NOT NULL)`);
  await setup.query(`INSERT INTO measurements
                     SELECT i, ((i * 7919) % 1000) + (i % 2) * 0.5, 'row-' || i FROM generate_series(1, ${ROWS}) AS i`);
  await setup.end();

  const config = {
    mcpServers: {
      postgres: { command: NODE, args: [SERVER_POSTGRES, db.url] },
      analysis: { command: ANALYSIS, args: ['--backend', 'memory:'] },
    },
  };
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  const gw = new Client({ name: 'gateway-postgres-e2e', version: '1.0.0' });
  await gw.connect(new StdioClientTransport({ command: GATEWAY,
    args: ['--config', configPath, '--backend', `sqlite:${path.join(work, 'gateway.db')}`], stderr: 'ignore' }));
  const direct = new Client({ name: 'direct', version: '1.0.0' });
  await direct.connect(new StdioClientTransport({ command: NODE, args: [SERVER_POSTGRES, db.url], stderr: 'ignore' }));

  const names = (await gw.listTools()).tools.map((t) => t.name);
  check(names.includes('query') && names.includes('analyze_data') && names.includes('get_cached_result'),
    'the gateway offers query, analyze_data and get_cached_result', names);

  // A small result passes through unchanged.
  const small = { name: 'query', arguments: { sql: 'SELECT id, v, label FROM measurements WHERE id <= 3 ORDER BY id' } };
  const viaSmall = await gw.callTool(small);
  const directSmall = await direct.callTool(small);
  check(isDeepStrictEqual(viaSmall.content, directSmall.content) && sc(viaSmall) === undefined,
    'a small query result passes through unchanged', { viaSmall, directSmall });
  step('a 3-row SELECT: the same answer through the gateway as directly');

  // The 100,000-row SELECT becomes a ref.
  const whole = { name: 'query', arguments: { sql: 'SELECT id, v, label FROM measurements ORDER BY id' } };
  const directBig = await direct.callTool(whole);
  const directBytes = JSON.stringify(directBig).length;
  const big = await gw.callTool(whole);
  check(big.isError !== true, 'the big SELECT succeeds', textOf(big).slice(0, 500));
  const ref = sc(big);
  check(/^gateway:[0-9a-f]{16}$/.test(ref?.ref_id) && ref.is_complete === false && ref.total_items === ROWS
    && ref.upstream === 'postgres' && ref.source === 'json_text', 'the 100,000 rows are a ref', ref);
  const receivedBytes = JSON.stringify(big).length;
  const previewText = JSON.stringify(ref.preview);
  const tokens = {};
  for (const enc of ['cl100k_base', 'o200k_base']) {
    const e = getEncoding(enc);
    tokens[enc] = { preview: e.encode(previewText).length, answer: e.encode(textOf(big)).length,
                    direct: e.encode(textOf(directBig)).length };
    check(tokens[enc].preview < 2000, `the preview stays under 2,000 tokens (${enc})`, tokens);
    check(tokens[enc].answer < 4000, `the whole answer is small (${enc})`, tokens);
    check(tokens[enc].direct > 100 * tokens[enc].answer, `the direct answer is far larger (${enc})`, tokens);
  }
  // A list of rows first comes as its shape: the columns a query needs, with their types.
  const columns = ref.preview?.items?.keys ?? {};
  check(ref.preview_strategy === 'shape' && columns.id?.type === 'integer' && columns.label?.type === 'string'
    && 'v' in columns && ref.preview.examples?.[0]?.label === 'row-1',
    'the preview is the shape of the rows, naming their columns', ref.preview);
  step(`SELECT of ${ROWS} rows: ${directBytes} bytes directly, ${receivedBytes} through the gateway; `
    + `preview ${tokens.cl100k_base.preview} tokens (cl100k_base), ${tokens.o200k_base.preview} (o200k_base); ${ref.ref_id}`);

  const page = sc(await gw.callTool({ name: 'get_cached_result', arguments: { ref_id: ref.ref_id, page: 5, page_size: 20 } }));
  check(page.preview.length === 20 && page.preview[0].id === 81 && page.preview[0].label === 'row-81'
    && page.total_pages === ROWS / 20, 'page 5 of 20 rows', page);
  const full = sc(await gw.callTool({ name: 'get_cached_result', arguments: { ref_id: ref.ref_id, full: true } }));
  check(isDeepStrictEqual(full.value, JSON.parse(textOf(directBig))), 'the full value is every row PostgreSQL returned');
  step('get_cached_result: page 5 holds rows 81-100; full=true gives the 100,000 rows as the server returned them');

  // The statistics in SQL.
  const sqlStats = JSON.parse(textOf(await gw.callTool({ name: 'query', arguments: { sql:
    `SELECT count(*)::integer AS count, sum(v) AS sum, avg(v) AS mean, min(v) AS min, max(v) AS max,
            var_samp(v) AS variance, stddev_samp(v) AS std,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS median FROM measurements` } })))[0];
  check(sqlStats.count === ROWS, 'SQL counts the rows', sqlStats);

  // The column as one JSON array (a ref too), passed by ref with a JSON Pointer to
  // refcache-data-analysis behind the same gateway.
  const column = sc(await gw.callTool({ name: 'query', arguments: { sql: 'SELECT json_agg(v ORDER BY id) AS v FROM measurements' } }));
  check(/^gateway:/.test(column?.ref_id), 'the column is a ref', column);
  const analysed = await gw.callTool({ name: 'analyze_data', arguments: { data: `${column.ref_id}#/0/v` } });
  check(analysed.isError !== true, 'analyze_data accepts the ref', textOf(analysed).slice(0, 500));
  const stats = sc(analysed).value ?? sc(analysed);
  for (const k of ['count', 'sum', 'mean', 'min', 'max', 'variance', 'std', 'median'])
    check(close(stats[k], sqlStats[k]), `analyze_data's ${k} is SQL's`, { stats, sqlStats });
  step(`analyze_data(${column.ref_id}#/0/v) = SQL: count ${stats.count}, mean ${stats.mean}, std ${stats.std}, median ${stats.median}`);

  // And from the 100,000-row ref's own rows.
  const vs = full.value.map((r) => r.v);
  const n = vs.length;
  const sum = vs.reduce((a, b) => a + b, 0);
  const mean = sum / n;
  const variance = vs.reduce((a, x) => a + (x - mean) * (x - mean), 0) / (n - 1);
  check(n === sqlStats.count && close(sum, sqlStats.sum) && close(mean, sqlStats.mean) && close(variance, sqlStats.variance)
    && close(Math.min(...vs), sqlStats.min) && close(Math.max(...vs), sqlStats.max), 'the ref\'s rows give SQL\'s statistics',
  { n, sum, mean, variance, sqlStats });
  step('the rows of the 100,000-row ref give the same count, sum, mean, variance, min and max as SQL');

  await gw.close();
  await direct.close();
  clearTimeout(deadline);
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => fail('unexpected error', String(e?.stack ?? e)));
