// refcache-gateway keeps its upstreams alive and passes their requests and messages through,
// driven by the official TypeScript MCP client (@modelcontextprotocol/sdk) over stdio:
//   - an HTTP upstream that does not answer at start-up is tried again, and offered once it
//     answers, with the names offered so far kept;
//   - an upstream that cannot start (@modelcontextprotocol/server-everything behind a wrapper
//     that exits until a file exists) is reported down by gateway_status, and is tried again
//     in the background: once the file exists its tools appear, and the client is told with
//     notifications/tools/list_changed (and its resources and prompts, with theirs);
//   - server-everything's tools that it adds after the handshake (it announces them with its
//     own list_changed, because the gateway declares elicitation, sampling and roots) are
//     offered;
//   - its elicitation, sampling and roots requests reach this client's handlers through the
//     gateway, and the answers get back to the tool;
//   - a subscription to one of its resources is forwarded, and its updates relayed;
//   - its log messages reach this client during a call;
//   - a call that runs past the gateway's per-call deadline fails;
//   - killed during a call, it fails that call with an error naming it, is restarted, and
//     serves again under the same names.
//
//   node upstream_life.mjs --gateway BIN --calc BIN --conformance BIN
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const GATEWAY = opt('--gateway');
const CALC = opt('--calc');
const CONFORMANCE = opt('--conformance');
if (!GATEWAY || !CALC || !CONFORMANCE) {
  console.error('usage: node upstream_life.mjs --gateway BIN --calc BIN --conformance BIN');
  process.exit(2);
}
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const NODE = process.execPath;
const EVERYTHING = path.join(REPO, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-gateway-life-')));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const deadline = setTimeout(() => { console.error('FAIL: took longer than 150 s'); process.exit(1); }, 150000);

function fail(what, detail) {
  console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail).slice(0, 2000));
  process.exit(1);
}
function check(cond, what, detail) { if (!cond) fail(what, detail); }
function step(s) { console.log(`ok: ${s}`); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sc = (r) => r.structuredContent;
const textOf = (r) => r.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

// The processes whose parent is `pid` (from /proc), with their command lines.
function childrenOf(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch { /* the process ended meanwhile */ }
  }
  return out;
}

// Waits (bounded) until `probe` gives a truthy value, and returns it.
async function until(probe, what, ms = 40000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await probe();
    if (v) return v;
    await sleep(100);
  }
  fail(`timed out waiting: ${what}`);
}

// A loopback port nothing listens on yet: the HTTP upstream's, started later.
const freePort = await new Promise((resolve) => {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});
const children = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); });

const flag = path.join(work, 'may-start');
const config = {
  mcpServers: {
    late: { command: '/bin/sh',
            args: ['-c', `test -f '${flag}' || { echo 'not yet' >&2; exit 3; }; exec '${NODE}' '${EVERYTHING}' stdio`] },
    calc: { command: CALC, args: ['--backend', 'memory:'] },
    remote: { type: 'http', url: `http://127.0.0.1:${freePort}/mcp` },
    conf: { command: CONFORMANCE, args: ['--stdio'], refcache: { prefix: 'conf' } },
  },
};
const configPath = path.join(work, 'mcp.json');
fs.writeFileSync(configPath, JSON.stringify(config, null, 2));

async function main() {
  const transport = new StdioClientTransport({
    command: GATEWAY, args: ['--config', configPath, '--backend', 'memory:', '--call-timeout', '6'], stderr: 'ignore' });
  const gw = new Client({ name: 'gateway-life-e2e', version: '1.0.0' },
    { capabilities: { elicitation: {}, sampling: {}, roots: { listChanged: true } } });
  let listChanged = 0;
  const logs = [];
  const asked = [];
  gw.setNotificationHandler(ToolListChangedNotificationSchema, () => { listChanged++; });
  const updated = [];
  gw.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updated.push(n.params.uri); });
  let resourcesChanged = 0;
  let promptsChanged = 0;
  gw.setNotificationHandler(ResourceListChangedNotificationSchema, () => { resourcesChanged++; });
  gw.setNotificationHandler(PromptListChangedNotificationSchema, () => { promptsChanged++; });
  gw.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logs.push(n.params); });
  gw.setRequestHandler(ElicitRequestSchema, (req) => {
    asked.push('elicitation');
    check(typeof req.params.message === 'string', 'the elicitation request keeps its message', req.params);
    return { action: 'accept', content: { name: 'Ada Lovelace', check: true, email: 'ada@example.com' } };
  });
  gw.setRequestHandler(CreateMessageRequestSchema, (req) => {
    asked.push('sampling');
    check(Array.isArray(req.params.messages) && req.params.messages.length > 0, 'the sampling request keeps its messages', req.params);
    return { role: 'assistant', content: { type: 'text', text: 'sampled-by-the-test-client' }, model: 'test-model', stopReason: 'endTurn' };
  });
  gw.setRequestHandler(ListRootsRequestSchema, () => {
    asked.push('roots');
    return { roots: [{ uri: 'file:///tmp/gateway-root-of-the-test', name: 'test root' }] };
  });
  await gw.connect(transport);
  const gatewayPid = transport.pid;
  const names = async () => (await gw.listTools()).tools.map((t) => t.name);
  const statusOf = async (name) => sc(await gw.callTool({ name: 'gateway_status', arguments: {} })).upstreams.find((u) => u.name === name);

  // Down at start-up: reported, the other upstream serves.
  const down = await statusOf('late');
  check(down.state === 'down' && /status 3|exit/.test(down.reason) && down.attempts >= 1, 'the late upstream is down, with its reason', down);
  check(!(await names()).includes('echo'), 'its tools are not offered while it never came up');
  const calc = await gw.callTool({ name: 'calculate', arguments: { expression: '6 * 7' } });
  check(sc(calc)?.result === 42, 'the other upstream serves', calc);
  step(`late upstream down at start-up (${down.reason}); calculate still answers`);

  // An HTTP upstream that is unreachable is retried too; when it answers, its tools appear, and
  // the names offered so far stay: its "calculate" is the one renamed.
  const remoteDown = await statusOf('remote');
  check(remoteDown.state === 'down' && remoteDown.attempts >= 1, 'the unreachable HTTP upstream is down', remoteDown);
  const remoteProc = spawn(CALC, ['--backend', 'memory:', '--transport', 'http', '--host', '127.0.0.1', '--port', String(freePort)],
    { stdio: ['ignore', 'ignore', 'ignore'] });
  children.push(remoteProc);
  const remoteNames = await until(async () => {
    const n = await names();
    return n.includes('remote_calculate') ? n : null;
  }, 'the HTTP upstream\'s tools to appear');
  check(remoteNames.includes('calculate'), 'calc keeps the name "calculate"', remoteNames);
  const remoteCalc = await gw.callTool({ name: 'remote_calculate', arguments: { expression: '5 * 5' } });
  check(sc(remoteCalc)?.result === 25, 'the HTTP upstream answers once up', remoteCalc);
  step(`HTTP upstream unreachable at start (${remoteDown.reason}), up later as remote_calculate; calc keeps "calculate"`);

  // It may start now: retried in the background, its tools appear and the client is told.
  fs.writeFileSync(flag, '');
  const appeared = await until(async () => {
    const n = await names();
    return n.includes('echo') && n.includes('trigger-elicitation-request') && n.includes('trigger-sampling-request') && n.includes('get-roots-list') ? n : null;
  }, 'the late upstream\'s tools (and those it adds after the handshake) to appear');
  await until(async () => listChanged >= 1, 'notifications/tools/list_changed');
  const up = await statusOf('late');
  check(up.state === 'up' && up.attempts >= 2, 'gateway_status: up after more attempts', up);
  const echo = await gw.callTool({ name: 'echo', arguments: { message: 'hello' } });
  check(textOf(echo).includes('hello'), 'echo answers through the gateway', echo);
  // Its resources and prompts are offered too, announced the same way.
  const resources = (await gw.listResources()).resources;
  const prompts = (await gw.listPrompts()).prompts;
  check(resources.some((r) => r.uri.startsWith('demo://')) && prompts.some((p) => p.name === 'simple-prompt'),
    'its resources and prompts are offered', { resources, prompts });
  check(resourcesChanged >= 1 && promptsChanged >= 1, 'resources and prompts list_changed received', { resourcesChanged, promptsChanged });
  const prompt = await gw.getPrompt({ name: 'simple-prompt', arguments: {} });
  check(prompt.messages.length > 0, 'its prompt answers through the gateway', prompt);
  step(`late upstream up after ${up.attempts} attempts; ${appeared.length} tools, ${resources.length} resources, ${prompts.length} prompts; list_changed received: tools ${listChanged}, resources ${resourcesChanged}, prompts ${promptsChanged}`);

  // Elicitation, sampling and roots of the upstream reach this client and the answers get back.
  const elicited = await gw.callTool({ name: 'trigger-elicitation-request', arguments: {} });
  check(elicited.isError !== true && JSON.stringify(elicited).includes('Ada Lovelace') && asked.includes('elicitation'),
    'elicitation: the handler answered and the tool got the answer', elicited);
  const sampled = await gw.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'say hi', maxTokens: 10 } });
  check(sampled.isError !== true && JSON.stringify(sampled).includes('sampled-by-the-test-client') && asked.includes('sampling'),
    'sampling: the handler answered and the tool got the answer', sampled);
  const roots = await gw.callTool({ name: 'get-roots-list', arguments: {} });
  check(roots.isError !== true && JSON.stringify(roots).includes('gateway-root-of-the-test') && asked.includes('roots'),
    'roots: the handler answered and the tool got the answer', roots);
  step(`elicitation, sampling and roots passed through (${asked.join(', ')})`);

  // An upstream of the 2026-07-28 era (our conformance server) asks with an input_required
  // result: the gateway's client answers it with this client's elicitation handler.
  const confStatus = await statusOf('conf');
  check(confStatus.state === 'up' && confStatus.protocol_version === '2026-07-28', 'the conformance server is up in the 2026-07-28 era', confStatus);
  const askedBefore = asked.length;
  const confirmed = await gw.callTool({ name: 'conf_confirm_delete', arguments: { filename: 'notes.txt' } });
  check(confirmed.isError !== true && textOf(confirmed) === 'Deleted notes.txt' && asked.length === askedBefore + 1,
    'input_required of a 2026-07-28 upstream: answered by this client\'s elicitation handler', { confirmed, asked });
  step(`2026-07-28 upstream's input_required answered through the gateway: "${textOf(confirmed)}"`);

  // A subscription to one of its resources is forwarded, and its updates reach the client.
  const watched = resources.find((r) => r.uri.startsWith('demo://resource/static/'))?.uri;
  check(watched !== undefined, 'a static resource of server-everything to watch', resources);
  await gw.subscribeResource({ uri: watched });
  await sleep(600);  // the gateway subscribes upstream within 200 ms
  await gw.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
  await until(async () => updated.includes(watched), 'notifications/resources/updated for the subscribed resource', 12000);
  await gw.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
  await gw.unsubscribeResource({ uri: watched });
  step(`subscribed to ${watched} through the gateway; ${updated.length} update(s) relayed`);

  // Log messages of the upstream reach the client during a call.
  await gw.setLoggingLevel('debug');
  await gw.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  const before = logs.length;
  await gw.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 5.5, steps: 2 } }, undefined, { timeout: 30000 });
  check(logs.length > before, 'a log message of the upstream reached the client during the call', logs);
  check(logs.some((l) => /message/i.test(JSON.stringify(l.data))), 'the log message is the upstream\'s', logs);
  await gw.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  step(`${logs.length} log messages passed through (e.g. ${JSON.stringify(logs[logs.length - 1])})`);

  // A call that runs past the per-call deadline (6 s) fails.
  const t0 = Date.now();
  let hung;
  try {
    hung = await gw.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 12, steps: 2 } }, undefined, { timeout: 30000 });
  } catch (e) {
    hung = { isError: true, content: [{ type: 'text', text: String(e.message) }] };
  }
  const took = Date.now() - t0;
  check(hung.isError === true && took < 11000, 'a call past the deadline fails before the upstream would answer', { hung, took });
  step(`a call past the 6 s deadline failed after ${took} ms: ${textOf(hung)}`);

  // Killed during a call: the call fails naming it; it is restarted and serves again.
  const child = childrenOf(gatewayPid).find((c) => c.cmd.includes('server-everything'));
  check(child !== undefined, 'the gateway runs server-everything', childrenOf(gatewayPid));
  const changedBefore = listChanged;
  const inFlight = gw.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 4, steps: 2 } }, undefined, { timeout: 30000 });
  await sleep(500);
  process.kill(child.pid, 'SIGKILL');
  const failed = await inFlight;
  check(failed.isError === true && textOf(failed).includes("upstream 'late'"), 'the call in flight fails naming the server', failed);
  const again = await until(async () => {
    const r = await gw.callTool({ name: 'echo', arguments: { message: 'again' } });
    return r.isError ? null : r;
  }, 'the killed upstream to serve again');
  check(textOf(again).includes('again'), 'echo answers after the restart', again);
  const restarted = await statusOf('late');
  check(restarted.state === 'up' && restarted.restarts >= 2 && /signal 9|SIGKILL/.test(restarted.last_error), 'gateway_status counts the restart and keeps the last error', restarted);
  const newChild = childrenOf(gatewayPid).find((c) => c.cmd.includes('server-everything'));
  check(newChild && newChild.pid !== child.pid, 'a new server-everything process runs', newChild);
  const namesAfter = await until(async () => {
    const n = await names();
    return n.includes('trigger-elicitation-request') ? n : null;
  }, 'the tools it adds after the handshake to be offered again');
  check(appeared.every((n) => namesAfter.includes(n)), 'every tool keeps its name across the restart', { appeared, namesAfter });
  check(listChanged > changedBefore, 'the restart was announced with list_changed', { listChanged, changedBefore });
  step(`killed during a call: "${textOf(failed)}"; restarted (restarts ${restarted.restarts}); names unchanged`);

  await gw.close();
  clearTimeout(deadline);
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => fail('unexpected error', String(e?.stack ?? e)));
