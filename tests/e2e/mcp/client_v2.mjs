// @modelcontextprotocol/client 2.x in modern (pinned 2026-07-28) and auto modes:
//   node client_v2.mjs pin|auto stdio|http SERVER_BIN
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { check, startHttp, withTimeout } from './lib.mjs';

const [mode, kind, bin] = process.argv.slice(2);
let server;
const makeTransport = () => kind === 'stdio'
  ? new StdioClientTransport({ command: bin, args: ['--stdio'], stderr: 'ignore' })
  : new StreamableHTTPClientTransport(new URL(server.base + '/mcp'));
if (kind === 'http') server = await startHttp(bin);
const negotiation = { mode: mode === 'pin' ? { pin: '2026-07-28' } : 'auto' };
const client = new Client({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: negotiation });
try {
  await withTimeout(client.connect(makeTransport()), 15000, 'connect');
  check(client.getProtocolEra() === 'modern', 'era is modern', client.getProtocolEra());
  const d = client.getDiscoverResult?.();
  check(!d || d.supportedVersions?.includes('2026-07-28'), 'discover lists 2026-07-28', d);
  const { tools } = await client.listTools();
  check(tools.some((t) => t.name === 'echo') && tools.some((t) => t.name === 'add'), 'tools/list', tools.map((t) => t.name));
  const r = await client.callTool({ name: 'echo', arguments: { text: 'modern' } });
  check(r.content[0].text === 'modern', 'tools/call echo', r);
  const r2 = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
  check(r2.structuredContent?.sum === 3, 'structured output', r2);
  const rr = await client.readResource({ uri: 'test://static-text' });
  check(rr.contents[0].text === 'This is the content of the static text resource.', 'resources/read', rr);
  const pr = await client.getPrompt({ name: 'test_simple_prompt' });
  check(pr.messages[0].content.text === 'This is a simple prompt for testing.', 'prompts/get', pr);
} finally {
  await client.close().catch(() => {});
  if (server) { check(server.alive(), 'server still alive'); await server.stop(); }
}
console.log('PASS client_v2', mode, kind);
process.exit(0);  // do not wait for lingering child pipes (mcp-remote keeps its own for ~30 s)
