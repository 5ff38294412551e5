// The official TypeScript MCP client's side of bench/mcp_client_bench.cpp: tools/call of the
// bench's echo tool through @modelcontextprotocol/sdk's Client, over stdio (the server spawned
// by StdioClientTransport) or Streamable HTTP (StreamableHTTPClientTransport to a running
// server). Sequential calls (one in flight) give the round trips per second and the latency
// percentiles; then `--concurrency` callers share the one client. Prints one JSON line.
//   node mcp_client_bench_ts.mjs --transport stdio --command EXE [--arg A]...
//   node mcp_client_bench_ts.mjs --transport http --url http://127.0.0.1:PORT/mcp
//   common: [--calls N] [--warmup N] [--concurrency C] [--concurrent-calls N]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const opts = { transport: 'stdio', command: '', args: [], url: '', calls: 2000, warmup: 200,
  concurrency: 8, concurrentCalls: 4000 };
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  const [k, v] = [process.argv[i], process.argv[i + 1]];
  if (k === '--transport') opts.transport = v;
  else if (k === '--command') opts.command = v;
  else if (k === '--arg') opts.args.push(v);
  else if (k === '--url') opts.url = v;
  else if (k === '--calls') opts.calls = Number(v);
  else if (k === '--warmup') opts.warmup = Number(v);
  else if (k === '--concurrency') opts.concurrency = Number(v);
  else if (k === '--concurrent-calls') opts.concurrentCalls = Number(v);
  else throw new Error(`unknown flag ${k}`);
}

const transport = opts.transport === 'http'
  ? new StreamableHTTPClientTransport(new URL(opts.url))
  : new StdioClientTransport({ command: opts.command, args: opts.args, stderr: 'ignore' });
const client = new Client({ name: 'bench-ts', version: '1' });
await client.connect(transport);

const call = async () => {
  const r = await client.callTool({ name: 'echo', arguments: { text: 'hello world' } });
  if (r.isError || r.content?.[0]?.text !== 'hello world') throw new Error('wrong answer');
};

for (let i = 0; i < opts.warmup; ++i) await call();

// Sequential: one call in flight.
const lat = new Float64Array(opts.calls);
const t0 = process.hrtime.bigint();
for (let i = 0; i < opts.calls; ++i) {
  const s = process.hrtime.bigint();
  await call();
  lat[i] = Number(process.hrtime.bigint() - s) / 1e6;
}
const seqSecs = Number(process.hrtime.bigint() - t0) / 1e9;
lat.sort();
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];

// Concurrent: `concurrency` callers share the client until concurrentCalls are done.
let next = 0;
const c0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: opts.concurrency }, async () => {
  while (next < opts.concurrentCalls) {
    ++next;
    await call();
  }
}));
const conSecs = Number(process.hrtime.bigint() - c0) / 1e9;
await client.close();

console.log(JSON.stringify({
  transport: opts.transport,
  calls: opts.calls,
  calls_per_s: Math.round(opts.calls / seqSecs),
  p50_ms: Number(pct(0.5).toFixed(3)),
  p99_ms: Number(pct(0.99).toFixed(3)),
  concurrency: opts.concurrency,
  concurrent_calls_per_s: Math.round(opts.concurrentCalls / conSecs),
}));
