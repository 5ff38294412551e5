// The gateway demo of `scripts/run --gateway`: refcache-gateway (stdio, SQLite store) in front
// of @modelcontextprotocol/server-filesystem and @modelcontextprotocol/server-postgres (on a
// throw-away PostgreSQL 15 started here), with the official TypeScript client making calls.
// For each step it prints the size of the answer the client would have received from the
// server directly (made too, by a second client) and the size it received through the gateway,
// in bytes and in tokens (o200k_base, js-tiktoken). Exits non-zero if a step goes wrong.
//
//   node postgres_fs_demo.mjs --gateway BIN
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { getEncoding } from 'js-tiktoken';
import pg from 'pg';
import { startPostgres } from './postgres_fixture.mjs';

const args = process.argv.slice(2);
const i = args.indexOf('--gateway');
const GATEWAY = i >= 0 ? args[i + 1] : undefined;
if (!GATEWAY) {
  console.error('usage: node postgres_fs_demo.mjs --gateway BIN');
  process.exit(2);
}
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const NODE = process.execPath;
const FILESYSTEM = path.join(REPO, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const POSTGRES = path.join(REPO, 'node_modules/@modelcontextprotocol/server-postgres/dist/index.js');
const enc = getEncoding('o200k_base');

let db;
const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-gateway-demo-')));
process.on('exit', () => { db?.stop(); fs.rmSync(work, { recursive: true, force: true }); });
const fail = (what) => { console.error(`FAIL: ${what}`); process.exit(1); };

const size = (r) => {
  const s = JSON.stringify({ content: r.content, structuredContent: r.structuredContent });
  return { bytes: Buffer.byteLength(s), tokens: enc.encode(s).length };
};
// The answer a server sends for a text result (server-filesystem's read_text_file and
// server-postgres's query answer one text block): what the client would receive directly.
// (The official client, reading such multi-MB answers straight from these Node servers, loses
// the connection on this machine, so the direct size of the two large steps is computed.)
const textAnswer = (text) => ({ content: [{ type: 'text', text }] });
const n = (x) => x.toLocaleString('en-US');
function report(what, direct, via, note) {
  const d = direct ? size(direct) : null;
  const g = size(via);
  console.log(`\n== ${what}`);
  if (d) console.log(`   without the gateway: ${n(d.bytes)} bytes, ${n(d.tokens)} tokens`);
  console.log(`   through the gateway: ${n(g.bytes)} bytes, ${n(g.tokens)} tokens${note ? `  (${note})` : ''}`);
}

async function connect(command, cmdArgs, stderr = 'ignore') {
  const c = new Client({ name: 'gateway-demo', version: '1.0.0' });
  await c.connect(new StdioClientTransport({ command, args: cmdArgs, stderr }));
  return c;
}

async function allOrders() {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const r = await c.query('SELECT * FROM orders ORDER BY id');
  await c.end();
  return r.rows;
}

async function main() {
  console.log('Starting PostgreSQL 15 (throw-away data directory)...');
  db = await startPostgres();
  const setup = new pg.Client({ connectionString: db.url });
  await setup.connect();
  await setup.query(`CREATE TABLE orders AS SELECT i AS id, 'customer-' || (i % 977) AS customer,
                       ((i * 7919) % 10000) / 100.0 AS amount FROM generate_series(1, 100000) AS i`);
  await setup.end();

  const data = path.join(work, 'data');
  fs.mkdirSync(data);
  const rows = Array.from({ length: 30000 }, (_, k) => ({ id: k, name: `item-${k}`, tags: ['a', 'b'], note: 'z'.repeat(50) }));
  const big = path.join(data, 'catalog.json');
  fs.writeFileSync(big, JSON.stringify(rows, null, 2));
  for (let d = 0; d < 60; d++) {
    const dir = path.join(data, 'tree', `dir-${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 30; f++) fs.writeFileSync(path.join(dir, `file-${f}.txt`), '');
  }
  const config = { mcpServers: {
    filesystem: { command: NODE, args: [FILESYSTEM, data] },
    postgres: { command: NODE, args: [POSTGRES, db.url] },
  } };
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  console.log(`Gateway configuration (${configPath}):\n${JSON.stringify(config, null, 2)}`);

  const gw = await connect(GATEWAY, ['--config', configPath, '--backend', `sqlite:${path.join(work, 'gateway.db')}`], process.env.DEMO_STDERR ? 'inherit' : 'ignore');
  const fsDirect = await connect(NODE, [FILESYSTEM, data], process.env.DEMO_STDERR ? 'inherit' : 'ignore');
  const pgDirect = await connect(NODE, [POSTGRES, db.url]);
  console.log(`Tools through the gateway: ${(await gw.listTools()).tools.map((t) => t.name).join(', ')}`);

  const call = async (c, name, a) => {
    try { return await c.callTool({ name, arguments: a }); } catch (e) { fail(`${name} (${c === gw ? 'through the gateway' : 'directly'}): ${e.message}`); }
  };
  const readArgs = { path: big };
  const read = await call(gw, 'read_text_file', readArgs);
  report(`filesystem read_text_file ${path.basename(big)} (${n(fs.statSync(big).size)} bytes)`,
    textAnswer(fs.readFileSync(big, 'utf8')), read, `ref ${read.structuredContent?.ref_id}`);
  const ref = read.structuredContent?.ref_id;
  if (!ref) fail('read_text_file did not become a ref');

  const treeArgs = { path: path.join(data, 'tree') };
  const tree = await call(gw, 'directory_tree', treeArgs);
  report('filesystem directory_tree of 60 directories x 30 files', await call(fsDirect, 'directory_tree', treeArgs), tree,
    `ref ${tree.structuredContent?.ref_id}`);

  const q = { sql: 'SELECT * FROM orders ORDER BY id' };
  const orders = await call(gw, 'query', q);
  report('postgres query: SELECT * FROM orders (100,000 rows)', textAnswer(JSON.stringify(await allOrders(), null, 2)), orders,
    `ref ${orders.structuredContent?.ref_id}`);
  if (!orders.structuredContent?.ref_id) fail('the SELECT did not become a ref');

  const small = { sql: 'SELECT count(*) AS n, round(avg(amount), 2) AS mean FROM orders' };
  report('postgres query: an aggregate (small: passes through unchanged)', await call(pgDirect, 'query', small),
    await call(gw, 'query', small));

  const page = await call(gw, 'get_cached_result', { ref_id: orders.structuredContent.ref_id, page: 2, page_size: 5 });
  report('get_cached_result: page 2 of 5 rows of the orders ref', null, page);

  const copy = path.join(data, 'catalog-copy.json');
  const wrote = await call(gw, 'write_file', { path: copy, content: ref });
  const same = fs.existsSync(copy) && fs.readFileSync(copy).equals(fs.readFileSync(big));
  report('filesystem write_file(content=<the catalog ref>): the file copied without entering the context', null, wrote,
    same ? 'the copy is byte-identical' : 'the copy differs');
  if (wrote.isError || !same) fail('write_file from the ref');

  for (const c of [gw, fsDirect, pgDirect]) await c.close();
  console.log('\nDone.');
  process.exit(0);
}

main().catch((e) => fail(String(e?.stack ?? e)));
