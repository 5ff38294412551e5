// Cache warming end to end: two calculators on one SQLite file, both started with --warm on
// the same file of calls and a short --ttl. The official TypeScript client finds the warmed
// result already there on either server (one ref, shared), and still the same ref, readable,
// after the result's first lifetime has passed: it was refreshed ahead of expiry under its
// ref id. A warm file naming a tool the server does not have stops it at start (exit 2).
//   node warm.mjs --calc BIN
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { expect as check, scene, sleep, startHttp } from '../harness.mjs';

const args = process.argv.slice(2);
const CALC = args[args.indexOf('--calc') + 1];
const { work, children } = scene('refcache-warm-', 90);

const TTL_S = 4;
const warmFile = path.join(work, 'warm.json');
fs.writeFileSync(warmFile, JSON.stringify({
  refresh_at: 0.5,
  calls: [{ tool: 'generate_primes', arguments: { count: 2000 } }],
}));

// A calculator on the shared file, warming it; resolves with its /mcp URL.
async function start() {
  const { url } = await startHttp(CALC, ['--backend', 'sqlite:' + path.join(work, 'cache.db'),
    '--ttl', String(TTL_S), '--warm', warmFile], 'calculator', children);
  return url;
}

async function connect(url) {
  const client = new Client({ name: 'warm-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url));
  return client;
}

const [a, b] = await Promise.all([start(), start()]);
const ca = await connect(a);
const cb = await connect(b);
const t0 = Date.now();
// Give the warmers their first call (the primes take milliseconds).
await sleep(500);
const first = (await ca.callTool({ name: 'generate_primes', arguments: { count: 2000 } })).structuredContent;
const other = (await cb.callTool({ name: 'generate_primes', arguments: { count: 2000 } })).structuredContent;
check(typeof first?.ref_id === 'string' && first.ref_id === other?.ref_id,
  'both servers answer the warmed call with one shared ref', { first, other });

// Past the first lifetime (4 s) the ref is still the answer, and readable: it was refreshed.
await sleep(Math.max(0, TTL_S * 1000 + 1500 - (Date.now() - t0)));
const later = (await cb.callTool({ name: 'generate_primes', arguments: { count: 2000 } })).structuredContent;
check(later?.ref_id === first.ref_id, 'after its first TTL the warmed call answers the same ref', later);
const read = await ca.callTool({ name: 'get_cached_result', arguments: { ref_id: first.ref_id, page: 1, page_size: 5 } });
check(!read.isError && JSON.stringify(read.structuredContent.preview) === '[2,3,5,7,11]',
  'the refreshed ref is readable, with the same value', read.structuredContent);
await ca.close();
await cb.close();

// A warm file naming a tool the server lacks: exit 2, naming it.
const badFile = path.join(work, 'bad.json');
fs.writeFileSync(badFile, JSON.stringify({ calls: [{ tool: 'no_such_tool' }] }));
const bad = spawnSync(CALC, ['--backend', 'memory:', '--warm', badFile], { input: '', encoding: 'utf8', timeout: 20000 });
check(bad.status === 2 && bad.stderr.includes("'no_such_tool' is not a cached tool"),
  'an unknown tool in the warm file stops the server with exit code 2', { status: bad.status, stderr: bad.stderr });
fs.writeFileSync(badFile, '{"calls": [{"tool": "generate_primes", "argumnets": {}}]}');
const typo = spawnSync(CALC, ['--backend', 'memory:', '--warm', badFile], { input: '', encoding: 'utf8', timeout: 20000 });
check(typo.status === 2 && typo.stderr.includes('unknown member "argumnets"'),
  'a misspelt member is named', { status: typo.status, stderr: typo.stderr });
console.log('warm: all checks passed');
process.exit(0);
