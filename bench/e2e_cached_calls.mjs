// End-to-end cached tool calls over Streamable HTTP against a running refcache-calculator, on
// SQLite and on Redis: the miss path (distinct arguments), the hit path (repeated arguments)
// and get_cached_result paging. Modern-era stateless POSTs over keep-alive connections from
// several concurrent callers. Prints one JSON line. Not a test.
//   node bench/e2e_cached_calls.mjs CALCULATOR_BIN [seconds_per_phase]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [bin, secondsArg] = process.argv.slice(2);
const SECONDS = Number(secondsArg || 3);
const CONCURRENCY = 8;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-bench-'));
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
});

const freePort = () => new Promise((r) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });

async function redisUrl() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', 'bench', '--save', '', '--appendonly', 'no', '--dir', work], { stdio: 'ignore' });
  children.push(proc);
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), '-a', 'bench', '--no-auth-warning', 'ping']).stdout?.toString().trim() === 'PONG')
      return `redis://:bench@127.0.0.1:${port}/0`;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

function startServer(backend) {
  const proc = spawn(bin, ['--transport', 'http', '--port', '0', '--backend', backend, '--size-mode', 'character', '--max-size', '2000'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  let err = '';
  return new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => { err += d; const m = err.match(/listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/); if (m) resolve({ port: Number(m[1]), proc }); });
    proc.on('exit', (c) => reject(new Error('server exited ' + c + err)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function post(port, name, args) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args,
    _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', agent, headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call', 'mcp-name': name, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        const j = JSON.parse(data.startsWith('{') ? data : data.split('\n').find((l) => l.startsWith('data: {'))?.slice(6));
        if (res.statusCode !== 200 || !j.result || j.result.isError) reject(new Error('bad answer ' + data.slice(0, 300)));
        else resolve(j.result.structuredContent);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function phase(port, makeCall) {
  const lat = [];
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      const i = n++;
      const t0 = process.hrtime.bigint();
      await makeCall(i);
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((a, b) => a - b);
  return { per_s: Math.round(lat.length / secs), p50_ms: +lat[Math.floor(lat.length * 0.5)].toFixed(3), p99_ms: +lat[Math.floor(lat.length * 0.99)].toFixed(3) };
}

const out = { bench: 'e2e_cached_calls', transport: 'streamable-http (2026-07-28, stateless)', concurrency: CONCURRENCY, seconds_per_phase: SECONDS };
for (const [name, backend] of [['sqlite', 'sqlite:' + path.join(work, 'bench.db')], ['redis', await redisUrl()]]) {
  const { port, proc } = await startServer(backend);
  const offset = Date.now();  // distinct arguments across runs of the same file
  const miss = await phase(port, (i) => post(port, 'generate_sequence', { sequence_type: 'arithmetic', count: 200, start: offset + i }));
  const hit = await phase(port, (i) => post(port, 'generate_sequence', { sequence_type: 'arithmetic', count: 200, start: offset + (i % 64) }));
  const big = await post(port, 'generate_primes', { count: 5000 });
  const paging = await phase(port, (i) => post(port, 'get_cached_result', { ref_id: big.ref_id, page: 1 + (i % 250), page_size: 20 }));
  out[name] = { miss, hit, get_cached_result_page: paging };
  proc.kill('SIGTERM');
}
console.log(JSON.stringify(out));
process.exit(0);
