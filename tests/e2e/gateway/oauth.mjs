// OAuth to an HTTP upstream, the way MCP clients do it, with nothing configured: the
// TypeScript SDK's example server (simpleStreamableHttp.js --oauth, with its demo
// authorization server, which approves at once) behind refcache-gateway, and the official
// client in front:
//   - the upstream answers 401; the gateway discovers its authorization server, registers
//     itself (dynamic registration), and logs the authorization URL for a person;
//   - the test plays the browser: it opens the URL, follows the redirect to the gateway's
//     loopback listener, and sees the page that says the gateway is authorized;
//   - the upstream's tools are then offered and answer (greet);
//   - the log holds neither the code nor a token.
//
//   node oauth.mjs --gateway BIN
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { TS_OAUTH_EXAMPLE, check, connectHttp, requiredOptions, scene, sleep, startHttp, step, textOf } from './harness.mjs';
import { freePort } from './harness.mjs';

const [GATEWAY] = requiredOptions('oauth.mjs', '--gateway');
const { work, children } = scene('refcache-gateway-oauth-', 90);

async function startExample() {
  const [mcpPort, authPort] = [await freePort(), await freePort()];
  const proc = spawn(process.execPath, [TS_OAUTH_EXAMPLE, '--oauth'], {
    env: { ...process.env, MCP_PORT: String(mcpPort), MCP_AUTH_PORT: String(authPort) },
    stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  for (let i = 0; i < 200; i++) {
    if (out.includes(`listening on port ${mcpPort}`) && out.includes(`listening on port ${authPort}`)) return mcpPort;
    await sleep(50);
  }
  check(false, 'the TypeScript example server with --oauth started', out);
}

async function main() {
  const mcpPort = await startExample();
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify({ mcpServers: { ts: { type: 'http', url: `http://localhost:${mcpPort}/mcp` } } }));
  const gw = await startHttp(GATEWAY, ['--config', configPath, '--backend', 'memory:'], 'refcache-gateway', children);
  step(`refcache-gateway (${gw.url.host}) in front of the TypeScript SDK's OAuth example (localhost:${mcpPort})`);

  let url;
  for (let i = 0; i < 300 && !url; i++) {
    const m = gw.log.text.match(/upstream 'ts' needs authorization: open this URL in a browser on this machine \(waiting \d+ s\): (\S+)/);
    if (m) url = m[1];
    else await sleep(50);
  }
  check(url !== undefined, 'the gateway logs the authorization URL', gw.log.text);
  const authorize = new URL(url);
  check(authorize.searchParams.get('code_challenge_method') === 'S256' && authorize.searchParams.get('client_id')
    && /^http:\/\/127\.0\.0\.1:\d+\/callback$/.test(authorize.searchParams.get('redirect_uri')),
    'with PKCE S256, a registered client and a loopback redirect', url);
  step(`authorization URL: ${authorize.origin}${authorize.pathname} (client ${authorize.searchParams.get('client_id')})`);

  // The browser: the authorization server approves at once and redirects to the gateway.
  const approved = await fetch(url, { redirect: 'manual' });
  const back = approved.headers.get('location');
  check(approved.status >= 300 && approved.status < 400 && back?.startsWith(authorize.searchParams.get('redirect_uri')),
    'the authorization server redirects to the gateway', { status: approved.status, back });
  const page = await fetch(back);
  check(page.status === 200 && (await page.text()).includes('refcache-gateway is authorized'),
    'the gateway\'s listener takes the code and tells the person');
  step('the browser came back to the gateway\'s loopback listener');

  const client = await connectHttp(gw.url, undefined, 'oauth-e2e');
  let tools = [];
  for (let i = 0; i < 200 && !tools.some((t) => t.name === 'greet'); i++) {
    tools = (await client.listTools()).tools;
    if (!tools.some((t) => t.name === 'greet')) await sleep(100);
  }
  check(tools.some((t) => t.name === 'greet'), 'the upstream\'s tools are offered once it is authorized', tools.map((t) => t.name));
  const greeted = await client.callTool({ name: 'greet', arguments: { name: 'refcache' } });
  check(textOf(greeted) === 'Hello, refcache!', 'greet answers through the authorized connection', greeted);
  step('greet through the gateway: "Hello, refcache!"');

  const code = new URL(back).searchParams.get('code');
  check(!gw.log.text.includes(code), 'the log does not hold the authorization code');
  check(!/Bearer [A-Za-z0-9._~+/-]{8,}/.test(gw.log.text) && !/access_token/.test(gw.log.text), 'nor a token');
  await client.close();
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => check(false, 'unexpected error', String(e?.stack ?? e)));
