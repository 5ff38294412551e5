// Attempts to exhaust a product server's memory or stall it through its inputs: huge bodies,
// deep JSON, huge page sizes, many refs in one input, many sessions. Complements
// tests/e2e/mcp/bad_input.mjs (which checks the 413 and depth answers on the SDK's fixture)
// on refcache-calculator and refcache-data-analysis themselves. Asserted, for each: a clear
// refusal (HTTP status, JSON-RPC error or tool error with a message) within 10 s, the server
// alive and serving afterwards, and no growth of resident memory across repeated rounds of
// near-limit bodies, nor of descriptors after 1,024 SSE streams closed.
//
//   node limits.mjs --calc BIN --analysis BIN
import net from 'node:net';
import path from 'node:path';
import { LEGACY, callTool, check, closeConnections, deadline, fail, httpRequest, options, procStats, round, sc, sleep, startServer, tempDir } from './lib.mjs';

const { opt } = options();
const CALC = opt('--calc');
const ANALYSIS = opt('--analysis');
if (!CALC || !ANALYSIS) fail('usage: limits.mjs --calc BIN --analysis BIN');
deadline(150, 'limits');

const args = ['--backend', 'sqlite:' + path.join(tempDir('limits'), 'cache.db')];
const calc = await startServer(CALC, args);
const analysis = await startServer(ANALYSIS, args);
const figures = {};
const MODERN_HEADERS = (method, name) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) });
const modernBody = (method, params) => JSON.stringify({ jsonrpc: '2.0', id: 1, method,
  params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } });
const refused = (a) => (a.kind === 'tool_error' && a.text.length > 0) || (a.kind === 'rpc_error' && a.message.length > 0);
async function stillServing(what) {
  const a = await callTool(calc.url, 'generate_primes', { count: 10 }, { timeoutMs: 10000 });
  check(a.kind === 'ok' && calc.alive() && analysis.alive(), `still serving after ${what}`, a);
}

// --- huge page sizes and previews --------------------------------------------------------------
{
  const big = await callTool(calc.url, 'generate_primes', { count: 5000 });
  const ref = sc(big)?.ref_id;
  check(big.kind === 'ok' && ref, 'a large result to page through', big);
  const cases = [
    [{ page_size: 1001 }, 'page_size over 1,000'],
    [{ page_size: 1e12 }, 'page_size 10^12'],
    [{ page_size: -5 }, 'negative page_size'],
    [{ page: 0, page_size: 10 }, 'page 0'],
    [{ max_size: 1000001 }, 'max_size over 1,000,000'],
    [{ max_size: 1e18 }, 'max_size 10^18'],
    [{ page: 1e15, page_size: 1000 }, 'page 10^15'],
  ];
  for (const [extra, what] of cases) {
    for (const server of [calc, analysis]) {
      const a = await callTool(server.url, 'get_cached_result', { ref_id: ref, ...extra }, { timeoutMs: 10000 });
      const emptyPage = a.kind === 'ok' && Array.isArray(sc(a)?.preview) && sc(a).preview.length === 0;
      check(refused(a) || emptyPage, `get_cached_result with ${what}: refused or an empty page`, a);
    }
  }
  const most = await callTool(analysis.url, 'get_cached_result', { ref_id: ref, page: 5, page_size: 1000, max_size: 100000 });
  check(most.kind === 'ok' && sc(most).preview.length === 1000 && sc(most).preview[999] === 48611, 'the largest page allowed works', sc(most)?.page);
  await stillServing('huge page sizes');
}

// --- deep JSON -----------------------------------------------------------------------------------
{
  for (const depth of [65, 100000, 4000000]) {
    const body = '['.repeat(depth) + ']'.repeat(depth);
    const r = await httpRequest(calc.url, { headers: MODERN_HEADERS('tools/call', 'analyze_data'), body, timeoutMs: 10000 });
    const err = (() => { try { return JSON.parse(r.text).error; } catch { return null; } })();
    check((r.status === 400 && err?.code === -32700) || r.status === 413, `JSON nested ${depth} deep: refused (HTTP ${r.status})`, r);
  }
  // Inside the limit, nested arguments reach the tool, which refuses what is not numbers.
  let nested = [1];
  for (let i = 0; i < 55; ++i) nested = [nested];
  const a = await callTool(analysis.url, 'analyze_data', { data: nested });
  check(refused(a), 'arguments nested 56 deep: a tool error', a);
  await stillServing('deep JSON');
}

// --- many refs in one input ---------------------------------------------------------------------
{
  const small = await callTool(calc.url, 'generate_primes', { count: 3 });
  const ref = sc(small).ref_id;
  const a = await callTool(analysis.url, 'aggregate_data', { datasets: Array(10001).fill(ref), operation: 'concat' }, { timeoutMs: 10000 });
  check(refused(a), '10,001 refs in one input: refused', a);
  const ok = await callTool(analysis.url, 'aggregate_data', { datasets: Array(100).fill(ref), operation: 'concat' });
  check(ok.kind === 'ok' && sc(ok).total_items === 300, '100 refs in one input work', sc(ok));
}

// --- huge bodies ---------------------------------------------------------------------------------
{
  const over = await httpRequest(calc.url, { headers: MODERN_HEADERS('tools/call', 'calculate'), body: 'x'.repeat(9 << 20), timeoutMs: 10000 });
  check(over.status === 413, 'a 9 MiB body: HTTP 413', over.status ?? over);
  // Rounds of 8 concurrent bodies just under the 8 MiB limit: each a tool call whose argument
  // is refused by the schema. The servers hand blocks of 1 MiB and more back to the system when
  // freed (mcp::return_large_blocks_to_os), so resident memory stays within a few hundred kB
  // of where it started; without that, glibc's arenas kept 70-150 MB. The bound is 16 MiB:
  // keeping even two of the 48 bodies would exceed it.
  const huge = modernBody('tools/call', { name: 'generate_primes', arguments: { count: 'n'.repeat((8 << 20) - 400) } });
  const before = procStats(calc.pid).rssKb;
  const rss = [];
  for (let round_ = 0; round_ < 6; ++round_) {
    const rs = await Promise.all(Array.from({ length: 8 }, () =>
      httpRequest(calc.url, { headers: MODERN_HEADERS('tools/call', 'generate_primes'), body: huge, timeoutMs: 20000 })));
    for (const r of rs) {
      const m = (() => { try { return JSON.parse(r.text); } catch { return null; } })();
      if (!(m?.result?.isError || m?.error)) fail('a near-limit body is refused with a message', r);
    }
    closeConnections();
    await sleep(200);
    rss.push(procStats(calc.pid).rssKb);
  }
  figures.near_limit_bodies_rss_kb = [before, ...rss];
  check(Math.max(...rss) - before <= 16 * 1024,
    `6 rounds of 8 x 8 MiB bodies: resident memory bounded (before ${before}, after each round ${rss.join(', ')} kB)`);
  await stillServing('huge bodies');
}

// --- many sessions -------------------------------------------------------------------------------
// 1,024 sessions come from four loopback addresses (127.0.0.1-4): one unauthenticated address
// may hold 256 of them, so that one host's flood leaves room for the others.
{
  const PEERS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const legacyHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = (localAddress) => httpRequest(calc.url, { headers: legacyHeaders, localAddress,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'limits', version: '1' } } }) });
  // A session that never makes a second request is dropped after a few seconds: say initialized.
  const initialized = (sid, localAddress) => httpRequest(calc.url, { localAddress,
    headers: { ...legacyHeaders, 'mcp-session-id': sid, 'mcp-protocol-version': LEGACY },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  const sids = [];
  for (const peer of PEERS) {
    for (let i = 0; i < 256; i += 16) {
      const rs = await Promise.all(Array.from({ length: 16 }, () => init(peer)));
      for (const r of rs) if (r.status === 200) sids.push(r.headers['mcp-session-id']);
      await Promise.all(rs.filter((r) => r.status === 200).map((r) => initialized(r.headers['mcp-session-id'], peer)));
    }
    if (peer === PEERS[0]) {
      const over = await init(peer);
      check(over.status === 503 && /Too many sessions from this address/.test(over.text),
        'the 257th session of one address gets HTTP 503 "Too many sessions from this address"', over);
    }
  }
  check(sids.length === 1024, `1,024 legacy sessions open from four addresses (${sids.length})`);
  const extra = await init('127.0.0.5');
  check(extra.status === 503 && /Too many sessions/.test(extra.text), 'the 1,025th gets HTTP 503 "Too many sessions"', extra);
  const del = await httpRequest(calc.url, { method: 'DELETE', localAddress: PEERS[3], headers: { 'mcp-session-id': sids.pop(), 'mcp-protocol-version': LEGACY } });
  check(del.status === 200, 'ending a session', del.status);
  check((await init('127.0.0.5')).status === 200, 'frees a place for a new one');
  await stillServing('1,024 sessions');

  // Legacy SSE sessions have the same caps; their streams hold a connection each.
  const before = procStats(analysis.pid);
  const { port } = new URL(analysis.base);
  const open = (n, localAddress) => Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: Number(port), localAddress });
    let got = '';
    s.on('data', (d) => { got += d; if (got.includes('event: endpoint') || /^HTTP\/1\.1 503[\s\S]*\}/.test(got)) resolve({ s, got }); });
    s.on('error', (e) => resolve({ s, got: 'error ' + e.message }));
    s.write(`GET /sse HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  })));
  const streams = [];
  for (const peer of PEERS) for (let i = 0; i < 256; i += 64) streams.push(...await open(64, peer));
  check(streams.every((x) => x.got.includes('event: endpoint')), '1,024 legacy SSE streams open');
  const [over1025] = await open(1, '127.0.0.5');
  check(over1025.got.startsWith('HTTP/1.1 503'), 'the 1,025th SSE stream gets HTTP 503', over1025.got.slice(0, 200));
  const during = procStats(analysis.pid);
  for (const x of [...streams, over1025]) x.s.destroy();
  let after = procStats(analysis.pid);
  for (let i = 0; i < 50 && after.fds > before.fds + 1; ++i) { await sleep(100); after = procStats(analysis.pid); }
  figures.sse_streams_fds = { before: before.fds, with_1024_open: during.fds, after_close: after.fds };
  check(after.fds <= before.fds + 1, `descriptors back after the streams closed (${before.fds} -> ${during.fds} -> ${after.fds})`);
  const a = await callTool(analysis.url, 'analyze_data', { data: [1, 2, 3] });
  check(a.kind === 'ok', 'data-analysis still serving after 1,024 SSE streams', a);
}

console.log(JSON.stringify({ test: 'limits', ...figures, rss_kb_end: { calculator: procStats(calc.pid).rssKb, data_analysis: procStats(analysis.pid).rssKb } }));
await calc.stop();
await analysis.stop();
console.log('PASS limits');
process.exit(0);
