// 2025-11-25 experimental tasks with the @modelcontextprotocol/sdk 1.x client (its own schemas
// check every task message):  node tasks_v1.mjs stdio|http SERVER_BIN
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateTaskResultSchema, CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { check, startHttp, withTimeout } from './lib.mjs';

const [mode, bin] = process.argv.slice(2);
let server;
let transport;
if (mode === 'stdio') {
  transport = new StdioClientTransport({ command: bin, args: ['--stdio'], stderr: 'ignore' });
} else {
  server = await startHttp(bin);
  transport = new StreamableHTTPClientTransport(new URL(server.base + '/mcp'));
}
const client = new Client({ name: 'e2e-tasks-v1', version: '1.0.0' }, { capabilities: {} });
try {
  await withTimeout(client.connect(transport), 10000, 'connect');
  const caps = client.getServerCapabilities();
  check(caps.tasks?.requests?.tools?.call && caps.tasks?.list && caps.tasks?.cancel, 'tasks capability', caps.tasks);
  const { tools } = await client.listTools();
  check(tools.find((t) => t.name === 'slow_compute')?.execution?.taskSupport === 'optional', 'execution.taskSupport', tools.find((t) => t.name === 'slow_compute'));

  // The client's streaming helper: taskCreated ... result.
  const seen = [];
  let result;
  for await (const m of client.experimental.tasks.callToolStream(
    { name: 'slow_compute', arguments: { seconds: 0.3, label: 'e2e' } }, CallToolResultSchema, { task: { ttl: 60000 } })) {
    seen.push(m.type);
    if (m.type === 'result') result = m.result;
    if (m.type === 'error') check(false, 'callToolStream error', m.error);
  }
  check(seen[0] === 'taskCreated' && seen.at(-1) === 'result', 'callToolStream: taskCreated ... result', seen);
  check(/Computed e2e/.test(result?.content?.[0]?.text ?? ''), 'task result', result);

  // Raw: create, get, list, cancel.
  const created = await client.request(
    { method: 'tools/call', params: { name: 'slow_compute', arguments: { seconds: 60 }, task: { ttl: 30000 } } },
    CreateTaskResultSchema);
  const id = created.task.taskId;
  check(created.task.status === 'working' && created.task.ttl === 30000, 'CreateTaskResult', created);
  const got = await client.experimental.tasks.getTask(id);
  check(got.taskId === id && got.status === 'working', 'tasks/get', got);
  const list = await client.experimental.tasks.listTasks();
  check(list.tasks.some((t) => t.taskId === id), 'tasks/list', list);
  const cancelled = await client.experimental.tasks.cancelTask(id);
  check(cancelled.status === 'cancelled', 'tasks/cancel', cancelled);
  let again;
  try { await client.experimental.tasks.cancelTask(id); } catch (e) { again = e; }
  check(again?.code === -32602, 'cancel of a terminal task is -32602', again?.message);

  // A tool that requires a task, called without one; a tool that forbids one, called with one.
  let e1;
  // (raw request: the client's callTool refuses this itself)
  try {
    await client.request({ method: 'tools/call', params: { name: 'failing_job', arguments: {} } }, CallToolResultSchema);
  } catch (e) { e1 = e; }
  check(e1?.code === -32601, 'required task tool without task: -32601', e1?.message);
  let e2;
  try {
    await client.request({ method: 'tools/call', params: { name: 'greet', arguments: { name: 'x' }, task: {} } },
      CreateTaskResultSchema);
  } catch (e) { e2 = e; }
  check(e2?.code === -32601, 'forbidden task tool with task: -32601', e2?.message);
  const failing = await client.request(
    { method: 'tools/call', params: { name: 'failing_job', arguments: {}, task: {} } }, CreateTaskResultSchema);
  const fres = await client.experimental.tasks.getTaskResult(failing.task.taskId, CallToolResultSchema);
  check(fres.isError === true && fres._meta?.['io.modelcontextprotocol/related-task']?.taskId === failing.task.taskId,
    'tasks/result waits and answers the tool error with related-task', fres);
} finally {
  await client.close().catch(() => {});
  if (server) {
    check(server.alive(), 'server alive');
    await server.stop();
  }
}
console.log('PASS tasks_v1', mode);
process.exit(0);  // do not wait for the connect timeout timer
