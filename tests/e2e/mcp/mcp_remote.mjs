// mcp-remote bridging stdio to our HTTP server; the SDK v1 client speaks stdio to mcp-remote.
//   node mcp_remote.mjs http|sse SERVER_BIN REPO_ROOT
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { check, startHttp, withTimeout } from './lib.mjs';

const [kind, bin, root] = process.argv.slice(2);
const server = await startHttp(bin);
const url = server.base + (kind === 'sse' ? '/sse' : '/mcp');
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [`${root}/node_modules/mcp-remote/dist/proxy.js`, url, '--transport', kind === 'sse' ? 'sse-only' : 'http-only'],
  stderr: 'ignore',
  env: { ...process.env, MCP_REMOTE_CONFIG_DIR: `${process.env.TMPDIR || '/tmp'}/mcp-remote-e2e-${process.pid}` },
});
const client = new Client({ name: 'e2e-remote', version: '1.0.0' });
try {
  await withTimeout(client.connect(transport), 30000, 'connect through mcp-remote');
  const { tools } = await client.listTools();
  check(tools.some((t) => t.name === 'echo'), 'tools/list through mcp-remote', tools.length);
  const r = await client.callTool({ name: 'echo', arguments: { text: 'bridged' } });
  check(r.content[0].text === 'bridged', 'tools/call through mcp-remote', r);
} finally {
  await client.close().catch(() => {});
  check(server.alive(), 'server still alive');
  await server.stop();
}
console.log('PASS mcp_remote', kind);
process.exit(0);  // do not wait for lingering child pipes (mcp-remote keeps its own for ~30 s)
