// refcache-gateway with two callers of two different bearer users (alice and bob, official
// TypeScript clients over the gateway's Streamable HTTP transport) in front of one
// @modelcontextprotocol/server-everything (stdio), whose simulated logging sends a log message
// every 5 s and whose trigger-elicitation-request tool elicits:
//   - with alice's calls alone in flight, the upstream's log messages reach alice and its
//     elicitation reaches alice's handler;
//   - with calls of alice and bob in flight at once, neither receives the upstream's log
//     messages (they go to the gateway's stderr only), and an elicitation is refused to the
//     upstream with an error naming the reason, shown to neither handler;
//   - progress still reaches each caller (routed by its progressToken).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const GATEWAY = opt('--gateway');
if (!GATEWAY) {
  console.error('usage: node callers.mjs --gateway BIN');
  process.exit(2);
}
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const EVERYTHING = path.join(REPO, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

const children = [];
const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-gateway-callers-')));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
});
setTimeout(() => { console.error('FAIL: took longer than 120 s'); process.exit(1); }, 120000).unref();

let gatewayLog = '';
function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail).slice(0, 2000));
  console.error(`gateway stderr (end):\n${gatewayLog.slice(-3000)}`);
  process.exit(1);
}
function check(cond, what, detail) { if (!cond) fail(what, detail); }
function step(s) { console.log(`ok: ${s}`); }

const configPath = path.join(work, 'mcp.json');
fs.writeFileSync(configPath, JSON.stringify({
  mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } },
}));

function startGateway() {
  const proc = spawn(GATEWAY, ['--config', configPath, '--backend', 'memory:',
    '--bearer-token', 'alice-token=alice', '--bearer-token', 'bob-token=bob',
    '--transport', 'http', '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the gateway did not start: ${gatewayLog}`)), 60000);
    proc.stderr.on('data', (d) => {
      gatewayLog += d.toString();
      const m = gatewayLog.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(t); resolve(new URL(m[1])); }
    });
    proc.on('exit', (code) => reject(new Error(`the gateway exited with ${code}: ${gatewayLog}`)));
  });
}

async function caller(url, user) {
  const c = new Client({ name: `callers-e2e-${user}`, version: '1.0.0' }, { capabilities: { elicitation: {} } });
  const seen = { logs: [], elicited: 0 };
  c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { seen.logs.push(n.params); });
  c.setRequestHandler(ElicitRequestSchema, () => {
    seen.elicited++;
    return { action: 'accept', content: { name: `${user} herself`, check: true, email: `${user}@example.com` } };
  });
  await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${user}-token` } } }));
  await c.setLoggingLevel('debug');
  return { c, seen, user };
}

const slow = (who, seconds, progress) => who.c.callTool(
  { name: 'trigger-long-running-operation', arguments: { duration: seconds, steps: 2 } },
  undefined, { timeout: 60000, onprogress: (p) => progress.push(p) });

async function main() {
  const url = await startGateway();
  const alice = await caller(url, 'alice');
  const bob = await caller(url, 'bob');
  const names = (await alice.c.listTools()).tools.map((t) => t.name);
  check(names.includes('trigger-long-running-operation') && names.includes('trigger-elicitation-request') &&
    names.includes('toggle-simulated-logging'), 'the upstream\'s tools are offered', names);
  // (Started by alice, the upstream's one connection logs for every caller of the gateway.)
  const toggled = await alice.c.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  check(/start|enabl|on/i.test(JSON.stringify(toggled)), 'simulated logging is on', toggled);

  // One user: its own calls get the upstream's log messages and elicitation.
  const aliceProgress = [];
  await slow(alice, 7, aliceProgress);
  check(alice.seen.logs.length > 0, 'with one user in flight, the upstream\'s log messages reach it', alice.seen);
  check(bob.seen.logs.length === 0, 'a user with no call in flight gets no log message', bob.seen);
  check(aliceProgress.length === 2, 'progress reaches the caller', aliceProgress);
  const own = await alice.c.callTool({ name: 'trigger-elicitation-request', arguments: {} });
  check(alice.seen.elicited === 1 && JSON.stringify(own).includes('alice herself'),
    'with one user in flight, the elicitation reaches its handler', own);
  step(`one user: ${alice.seen.logs.length} log messages and the elicitation reached alice, none bob`);

  // Two users at once: nobody gets what may be the other's.
  const logsBefore = { alice: alice.seen.logs.length, bob: bob.seen.logs.length };
  const logLinesBefore = (gatewayLog.match(/upstream 'everything' logs/g) || []).length;
  const progress = { alice: [], bob: [] };
  const [ra, rb] = await Promise.all([slow(alice, 12, progress.alice), slow(bob, 12, progress.bob)]);
  check(!ra.isError && !rb.isError, 'the two slow calls succeed', { ra, rb });
  check(alice.seen.logs.length === logsBefore.alice && bob.seen.logs.length === logsBefore.bob,
    'with two users in flight, neither gets the upstream\'s log messages', { logsBefore, alice: alice.seen.logs, bob: bob.seen.logs });
  const logLines = (gatewayLog.match(/upstream 'everything' logs/g) || []).length;
  // (Not checked: a debug-level message is below the gateway's own log level.)
  check(progress.alice.length === 2 && progress.bob.length === 2, 'progress reaches each caller', progress);
  step(`two users: no log message reached either, ${logLines - logLinesBefore} shown in the gateway's own log; progress reached each`);

  // Bob's call elicits while alice's call is in flight: refused upstream, shown to nobody.
  const aliceSlow = slow(alice, 8, []);
  await new Promise((r) => setTimeout(r, 1000));
  const refused = await bob.c.callTool({ name: 'trigger-elicitation-request', arguments: {} }).then(
    (r) => JSON.stringify(r), (e) => String(e?.message ?? e));
  check(!(await aliceSlow).isError, 'alice\'s slow call succeeds');
  check(alice.seen.elicited === 1 && bob.seen.elicited === 0, 'the elicitation reached neither user', { alice: alice.seen.elicited, bob: bob.seen.elicited });
  check(/cannot tell which caller/.test(refused), 'the upstream got the gateway\'s refusal, saying why', refused);
  step(`two users: the elicitation refused upstream (${refused.slice(0, 200)})`);

  // Bob alone: his elicitation reaches him.
  const bobOwn = await bob.c.callTool({ name: 'trigger-elicitation-request', arguments: {} });
  check(bob.seen.elicited === 1 && JSON.stringify(bobOwn).includes('bob herself'), 'alone, bob\'s elicitation reaches him', bobOwn);
  step('bob alone: his elicitation reaches his handler');

  // One user again: as before.
  const after = alice.seen.logs.length;
  await slow(alice, 7, []);
  check(alice.seen.logs.length > after, 'alone again, alice gets the log messages', alice.seen);
  await alice.c.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  step('alone again, alice gets the log messages');
  await alice.c.close();
  await bob.c.close();
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => fail(`unexpected error: ${e?.stack ?? e}`));
