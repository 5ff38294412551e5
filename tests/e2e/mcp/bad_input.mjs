// Bad input over HTTP and stdio: the right status/code for each, and the server keeps serving.
//   node bad_input.mjs http|stdio|auth SERVER_BIN
import { spawn } from 'node:child_process';
import http from 'node:http';
import { check, startHttp } from './lib.mjs';

const [kind, bin] = process.argv.slice(2);
const MODERN = '2026-07-28';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

// Raw HTTP request (lets us forge Host).
function request(base, { method = 'POST', path = '/mcp', headers = {}, body }) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch {}
        if (!json && /data: /.test(data)) {
          const frames = data.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => JSON.parse(l.slice(6)));
          json = frames.find((f) => 'result' in f || 'error' in f) ?? null;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: json, text: data });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

async function legacySession(base, extra = {}) {
  const r = await request(base, { headers: extra, body: { jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bad', version: '1' } } } });
  check(r.status === 200 && r.headers['mcp-session-id']?.length >= 32, 'initialize gives a session id', r.status);
  const sid = r.headers['mcp-session-id'];
  const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25', ...extra };
  const n = await request(base, { headers: h, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
  check(n.status === 202, 'initialized notification -> 202', n.status);
  return h;
}

if (kind === 'http') {
  const s = await startHttp(bin);
  const b = s.base;
  let r = await request(b, { body: '{"jsonrpc":' });
  check(r.status === 400 && r.body.error.code === -32700 && r.body.id === null, 'malformed JSON -> 400 -32700 id null', r.body);
  r = await request(b, { body: '[' + '['.repeat(200) + ']'.repeat(200) + ']' });
  check(r.status === 400 && r.body.error.code === -32700, 'too-deep JSON -> -32700', r.body);
  r = await request(b, { body: 'x'.repeat(9 << 20) });
  check(r.status === 413, 'oversized body -> 413', r.status);
  r = await request(b, { headers: { host: 'evil.example.com' }, body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } } });
  check(r.status === 403, 'forged Host -> 403', r.status);
  r = await request(b, { headers: { origin: 'http://evil.example.com' }, body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } } });
  check(r.status === 403, 'forged Origin -> 403', r.status);
  r = await request(b, { method: 'OPTIONS', headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST' } });
  check(r.status === 204 && /mcp-session-id/i.test(r.headers['access-control-allow-headers']), 'CORS preflight', r.headers);
  r = await request(b, { method: 'GET', path: '/.well-known/oauth-authorization-server' });
  check(r.status === 404, 'unknown well-known probe -> 404', r.status);

  // Modern era, stateless.
  const mh = { 'mcp-protocol-version': MODERN, 'mcp-method': 'nope/nope' };
  r = await request(b, { headers: mh, body: { jsonrpc: '2.0', id: 7, method: 'nope/nope', params: { _meta: meta } } });
  check(r.status === 404 && r.body.error.code === -32601 && r.body.id === 7, 'modern unknown method -> 404 -32601', r.body);
  r = await request(b, { headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }, body: { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { _meta: meta } } });
  check(r.status === 400 && r.body.error.code === -32020, 'Mcp-Method mismatch -> 400 -32020', r.body);
  r = await request(b, { headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
    body: { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { text: 5 }, _meta: meta } } });
  check(r.status === 200 && r.body.result.isError === true && r.body.result.resultType === 'complete', 'modern validation failure is a tool error', r.body);
  r = await request(b, { method: 'GET', headers: { accept: 'text/event-stream' } });
  check(r.status === 405, 'GET without session -> 405', r.status);
  r = await request(b, { method: 'DELETE' });
  check(r.status === 405, 'DELETE without session -> 405', r.status);

  // Legacy era with a session.
  const h = await legacySession(b);
  const bad = [
    [{ jsonrpc: '2.0', id: 1 }, -32600, 'missing method'],
    [{ jsonrpc: '1.0', id: 2, method: 'ping' }, -32600, 'wrong jsonrpc version'],
    [{ jsonrpc: '2.0', id: null, method: 'ping' }, -32600, 'null id'],
    [{ jsonrpc: '2.0', id: 3, method: 'no/such' }, -32601, 'unknown method'],
    [{ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'echo', arguments: 'x' } }, -32602, 'arguments not an object'],
    [{ jsonrpc: '2.0', id: 5, method: 'tools/call', params: [1] }, -32602, 'params not an object'],
    [{ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'nope' } }, -32602, 'unknown tool'],
    [{ jsonrpc: '2.0', id: 7, method: 'resources/read', params: { uri: 'test://missing' } }, -32002, 'missing resource (legacy)'],
    [[{ jsonrpc: '2.0', id: 8, method: 'ping' }], -32600, 'batch'],
  ];
  for (const [body, code, what] of bad) {
    r = await request(b, { headers: h, body });
    check(r.body?.error?.code === code, `${what} -> ${code}`, r.body);
  }
  r = await request(b, { headers: { ...h, 'mcp-session-id': 'f'.repeat(32) }, body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
  check(r.status === 404, 'unknown session -> 404', r.status);
  r = await request(b, { headers: { 'mcp-protocol-version': '2025-11-25' }, body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
  check(r.status === 400, 'missing session -> 400', r.status);

  // A client that goes away mid-call: the call is cancelled and the server keeps serving.
  await new Promise((resolve) => {
    const u = new URL(b);
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/mcp',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...h } });
    req.on('error', () => resolve());
    req.write(JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'slow', arguments: {} } }));
    req.end();
    setTimeout(() => { req.destroy(); resolve(); }, 100);
  });
  r = await request(b, { headers: h, body: { jsonrpc: '2.0', id: 100, method: 'tools/call', params: { name: 'echo', arguments: { text: 'still here' } } } });
  check(r.body?.result?.content?.[0]?.text === 'still here', 'serves after a client went away', r.body);
  r = await request(b, { method: 'DELETE', headers: h });
  check(r.status === 200, 'DELETE session', r.status);
  r = await request(b, { headers: h, body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
  check(r.status === 404, 'deleted session -> 404', r.status);
  check(s.alive(), 'server alive after bad input');
  await s.stop();

  // Expired sessions.
  const s2 = await startHttp(bin, ['--session-ttl', '1']);
  const h2 = await legacySession(s2.base);
  await new Promise((res) => setTimeout(res, 2100));
  r = await request(s2.base, { headers: h2, body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
  check(r.status === 404, 'expired session -> 404', r.status);
  await s2.stop();
} else if (kind === 'auth') {
  const s = await startHttp(bin, ['--bearer', 'secret-token', '--require-scope', 'mcp']);
  let r = await request(s.base, { body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }, headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' } });
  check(r.status === 401 && /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/.test(r.headers['www-authenticate']),
        '401 with resource_metadata', r.headers['www-authenticate']);
  r = await request(s.base, { headers: { authorization: 'Bearer wrong', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }, body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } } });
  check(r.status === 401 && /invalid_token/.test(r.headers['www-authenticate']), 'bad token -> 401 invalid_token', r.headers['www-authenticate']);
  r = await request(s.base, { method: 'GET', path: '/.well-known/oauth-protected-resource/mcp' });
  check(r.status === 200 && r.body.resource.endsWith('/mcp') && r.body.authorization_servers[0] === 'https://auth.example.com', 'PRM document', r.body);
  r = await request(s.base, { headers: { authorization: 'Bearer secret-token', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'whoami' },
    body: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: meta } } });
  check(r.status === 200 && r.body.result.structuredContent.principal === 'tester' && r.body.result.structuredContent.session === '', 'principal reaches the handler', r.body);
  r = await request(s.base, { headers: { authorization: 'Bearer secret-token', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
    body: { jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: meta } } });
  check(r.body.result.cacheScope === 'private', 'authenticated results are cacheScope private', r.body.result.cacheScope);
  const h = await legacySession(s.base, { authorization: 'Bearer secret-token' });
  r = await request(s.base, { headers: h, body: { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'whoami', arguments: {} } } });
  check(r.body.result.structuredContent.session === h['mcp-session-id'] && r.body.result.structuredContent.principal === 'tester', 'session id + principal (legacy)', r.body);
  await s.stop();
  const s3 = await startHttp(bin, ['--bearer', 'secret-token', '--require-scope', 'admin']);
  r = await request(s3.base, { headers: { authorization: 'Bearer secret-token', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }, body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } } });
  check(r.status === 403 && /insufficient_scope/.test(r.headers['www-authenticate']), 'insufficient scope -> 403', r.headers['www-authenticate']);
  await s3.stop();
} else {
  // stdio
  const p = spawn(bin, ['--stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const lines = [];
  let buf = '';
  const chunks = [];  // collect raw chunks; split once at the end (a 20 MiB line arrives in many chunks)
  p.stdout.on('data', (d) => chunks.push(d));
  p.stdout.on('end', () => { buf = Buffer.concat(chunks).toString(); for (const l of buf.split('\n')) if (l) lines.push(l); });
  const big = 'y'.repeat(20 << 20);
  p.stdin.write('{"jsonrpc":\n');
  p.stdin.write('{"jsonrpc":"2.0","id":1,"method":"nope"}\n');
  p.stdin.write('{"jsonrpc":"2.0","method":"notifications/whatever"}\n');
  p.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: big } } }) + '\n');
  p.stdin.write('{"jsonrpc":"2.0","id":3,"method":"ping"}\r\n');
  p.stdin.end();
  const code = await new Promise((res) => { const t = setTimeout(() => res('timeout'), 60000); p.on('exit', (c) => { clearTimeout(t); res(c); }); });
  check(code === 0, 'exits on EOF', code);
  await new Promise((r) => (p.stdout.readableEnded ? r() : p.stdout.on('end', r)));
  const msgs = lines.map((l) => JSON.parse(l));
  check(msgs.every((m) => m.jsonrpc === '2.0'), 'stdout carries only JSON-RPC');
  check(msgs.some((m) => m.id === null && m.error?.code === -32700), 'parse error with null id');
  check(msgs.some((m) => m.id === 1 && m.error?.code === -32601), 'unknown method');
  check(msgs.some((m) => m.id === 2 && m.result?.content?.[0]?.text.length === big.length), '20 MiB message echoed');
  check(msgs.some((m) => m.id === 3 && m.result), 'ping after bad input (CRLF line)');
  check(msgs.length === 4, 'notification not answered', msgs.length);
}
console.log('PASS bad_input', kind);
process.exit(0);  // do not wait for lingering child pipes (mcp-remote keeps its own for ~30 s)
