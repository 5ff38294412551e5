// @modelcontextprotocol/sdk 1.x client (legacy era) against our server over stdio, Streamable
// HTTP and legacy HTTP+SSE:  node sdk_v1.mjs stdio|http|sse SERVER_BIN
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { check, startHttp, withTimeout } from './lib.mjs';

const [mode, bin] = process.argv.slice(2);
let server;
let transport;
if (mode === 'stdio') {
  transport = new StdioClientTransport({ command: bin, args: ['--stdio'], stderr: 'ignore' });
} else {
  server = await startHttp(bin);
  transport = mode === 'sse' ? new SSEClientTransport(new URL(server.base + '/sse'))
                             : new StreamableHTTPClientTransport(new URL(server.base + '/mcp'));
}
const client = new Client({ name: 'e2e-v1', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
try {
  await withTimeout(client.connect(transport), 10000, 'connect');
  check(client.getServerVersion()?.name === 'mcp-conformance-server', 'serverInfo.name', client.getServerVersion());
  const caps = client.getServerCapabilities();
  check(caps.tools && caps.resources?.subscribe && caps.prompts && caps.logging, 'capabilities', caps);

  const { tools } = await client.listTools();
  const echo = tools.find((t) => t.name === 'echo');
  check(echo && echo.inputSchema.required?.includes('text'), 'typed tool schema lists required text', echo);
  const add = tools.find((t) => t.name === 'add');
  check(add?.outputSchema?.properties?.sum?.type === 'number' && add.annotations?.readOnlyHint === true, 'outputSchema + annotations', add);

  const r1 = await client.callTool({ name: 'echo', arguments: { text: 'héllo' } });
  check(r1.content[0].text === 'héllo' && !r1.isError, 'echo', r1);
  const r2 = await client.callTool({ name: 'add', arguments: { a: 2, b: 3.5 } });
  check(r2.structuredContent?.sum === 5.5 && JSON.parse(r2.content[0].text).sum === 5.5, 'structuredContent + text mirror', r2);
  const r3 = await client.callTool({ name: 'add', arguments: { a: 'x', b: 1 } });
  check(r3.isError === true && /arguments\.a/.test(r3.content[0].text), 'validation failure is a tool error', r3);

  const progress = [];
  const r4 = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined,
                                   { onprogress: (p) => progress.push(p.progress) });
  // The server sends 0, 50, 100 before the response (see bad_input/stdio and conformance). The v1
  // client dispatches notifications in a microtask but responses synchronously, so a progress
  // notification arriving in the same chunk as the response can be dropped by the client.
  check(!r4.isError && progress.slice(0, 2).join(',') === '0,50', 'progress notifications', progress);

  const logs = [];
  client.setNotificationHandler((await import('@modelcontextprotocol/sdk/types.js')).LoggingMessageNotificationSchema,
                                (n) => logs.push(n.params.data));
  await client.setLoggingLevel('info');
  await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
  check(logs.length === 3 && logs[0] === 'Tool execution started', 'log notifications', logs);

  const rr = await client.readResource({ uri: 'test://template/42/data' });
  check(JSON.parse(rr.contents[0].text).id === '42', 'resource template read', rr);
  const pr = await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'a', arg2: 'b' } });
  check(pr.messages[0].content.text === "Prompt with arguments: arg1='a', arg2='b'", 'prompt', pr);

  // Server -> client request (sampling) over this transport.
  client.setRequestHandler((await import('@modelcontextprotocol/sdk/types.js')).CreateMessageRequestSchema, async () => ({
    role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'm', stopReason: 'endTurn' }));
  const rs = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Capital?' } });
  check(rs.content[0].text === 'LLM response: Paris', 'sampling round trip', rs);

  // Pipelined calls: 200 in flight at once, all answered correctly.
  const many = await Promise.all(Array.from({ length: 200 }, (_, i) => client.callTool({ name: 'echo', arguments: { text: 'n' + i } })));
  check(many.every((r, i) => r.content[0].text === 'n' + i), '200 concurrent calls');

  let unknown;
  try { await client.callTool({ name: 'no_such_tool', arguments: {} }); } catch (e) { unknown = e; }
  check(unknown && unknown.code === -32602, 'unknown tool is -32602', unknown?.message);
} finally {
  await client.close().catch(() => {});
  if (server) { check(server.alive(), 'server still alive'); await server.stop(); }
}
console.log('PASS sdk_v1', mode);
process.exit(0);  // do not wait for lingering child pipes (mcp-remote keeps its own for ~30 s)
