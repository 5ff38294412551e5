// refcache-gateway refuses a bad configuration file before it starts anything: exit code 2
// and one line on stderr naming the file, where in it (a JSON Pointer, or line and column for
// JSON syntax) and what is wrong. A configuration copied from a client, with members the
// gateway does not know, is accepted (checked with --help, which needs the file to parse).
//
//   node bad_config.mjs --gateway BIN
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const GATEWAY = args[args.indexOf('--gateway') + 1];
if (!GATEWAY || args.indexOf('--gateway') < 0) {
  console.error('usage: node bad_config.mjs --gateway BIN');
  process.exit(2);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-gateway-config-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
let failures = 0;

function run(name, text, extra = []) {
  const file = path.join(work, `${name}.json`);
  if (text !== null) fs.writeFileSync(file, text);
  return { file, r: spawnSync(GATEWAY, ['--config', file, ...extra], { timeout: 20000, input: '' }) };
}

const cases = [
  ['not-json', '{"mcpServers": {"a": {"command": "x",}}}', 'line 1, column'],
  ['no-servers', '{"globalShortcut": "Ctrl+Space"}', 'no "mcpServers" object'],
  ['empty-servers', '{"mcpServers": {}}', '/mcpServers: names no server'],
  ['neither', '{"mcpServers": {"fs": {"args": ["x"]}}}', '/mcpServers/fs: needs "command"'],
  ['args-type', '{"mcpServers": {"fs": {"command": "x", "args": ["a", 7]}}}', '/mcpServers/fs/args/1: must be a string'],
  ['env-type', '{"mcpServers": {"fs": {"command": "x", "env": {"A": 1}}}}', '/mcpServers/fs/env/A: must be a string'],
  ['bad-type', '{"mcpServers": {"fs": {"type": "ws", "url": "ws://x"}}}', '/mcpServers/fs/type: must be'],
  ['bad-url', '{"mcpServers": {"fs": {"url": "ftp://x"}}}', '/mcpServers/fs/url: must start with http'],
  ['misspelt', '{"mcpServers": {"fs": {"command": "x", "refcache": {"treshold": 5}}}}', '/mcpServers/fs/refcache/treshold: unknown setting'],
  ['threshold', '{"mcpServers": {"fs": {"command": "x", "refcache": {"tools": {"t": {"threshold": 0}}}}}}', '/mcpServers/fs/refcache/tools/t/threshold: must be an integer'],
  ['unset-var', '{"mcpServers": {"fs": {"command": "x", "env": {"K": "${REFCACHE_GATEWAY_TEST_UNSET}"}}}}', 'REFCACHE_GATEWAY_TEST_UNSET is not set'],
  ['all-disabled', '{"mcpServers": {"fs": {"command": "x", "disabled": true}}}', '/mcpServers: every server in it is disabled'],
  ['missing-file', null, 'cannot be read'],
];
for (const [name, text, expected] of cases) {
  const { file, r } = run(name, text);
  const err = r.stderr.toString();
  const ok = r.status === 2 && err.includes(file) && err.includes(expected) && err.trim().split('\n').length === 1;
  console.log(`${ok ? 'ok' : 'FAIL'}: ${name}: exit ${r.status}: ${err.trim()}`);
  if (!ok) failures++;
}

// No --config at all.
{
  const r = spawnSync(GATEWAY, [], { timeout: 20000, input: '' });
  const ok = r.status === 2 && r.stderr.toString().includes('--config FILE is required');
  console.log(`${ok ? 'ok' : 'FAIL'}: no --config: exit ${r.status}`);
  if (!ok) failures++;
}

// A client's file with members the gateway does not know (Claude Desktop's preferences,
// Claude Code's per-server "type", ${VAR:-default}) parses: --help then exits 0.
{
  const text = JSON.stringify({
    globalShortcut: 'Ctrl+Space',
    mcpServers: {
      fs: { type: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '${HOME:-/tmp}'],
            env: { DEBUG: '${REFCACHE_GATEWAY_TEST_UNSET:-0}' }, alwaysAllow: ['read_file'] },
      remote: { type: 'http', url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer ${REFCACHE_GATEWAY_TEST_UNSET:-x}' } },
      legacy: { type: 'sse', url: 'http://127.0.0.1:1/sse' },
    },
  });
  const { r } = run('client-file', text, ['--help']);
  const ok = r.status === 0 && r.stdout.toString().includes('--config');
  console.log(`${ok ? 'ok' : 'FAIL'}: a client's file parses: exit ${r.status} ${r.stderr.toString().trim()}`);
  if (!ok) failures++;
}

if (failures) {
  console.error(`FAIL: ${failures} case(s)`);
  process.exit(1);
}
console.log('PASS');
