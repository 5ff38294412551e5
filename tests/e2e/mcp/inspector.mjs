// MCP Inspector CLI (tools/list, tools/call) against our server over stdio and HTTP:
//   node inspector.mjs stdio|http SERVER_BIN REPO_ROOT
import { execFileSync } from 'node:child_process';
import { check, startHttp } from './lib.mjs';

const [kind, bin, root] = process.argv.slice(2);
const node = process.execPath;
const cli = `${root}/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js`;
let server;
let target;
if (kind === 'http') { server = await startHttp(bin); target = [server.base + '/mcp', '--transport', 'http']; }
else target = [bin, '--', '--stdio'];
const run = (...args) => JSON.parse(execFileSync(node, [cli, '--cli', ...target, ...args], { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] }));
try {
  const list = run('--method', 'tools/list');
  check(list.tools.some((t) => t.name === 'echo'), 'inspector tools/list', list.tools?.length);
  const call = run('--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=from-inspector');
  check(call.content[0].text === 'from-inspector', 'inspector tools/call', call);
  const add = run('--method', 'tools/call', '--tool-name', 'add', '--tool-args-json', '{"a":40,"b":2}');
  check(add.structuredContent.sum === 42, 'inspector tools/call structured', add);
} finally {
  if (server) { check(server.alive(), 'server still alive'); await server.stop(); }
}
console.log('PASS inspector', kind);
process.exit(0);  // do not wait for lingering child pipes (mcp-remote keeps its own for ~30 s)
