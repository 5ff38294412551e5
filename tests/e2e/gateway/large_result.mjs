// A result far beyond the threshold: @modelcontextprotocol/server-filesystem reads a 100 MB
// JSON file (1.3 million rows) through the gateway on stdio, storing on a SQLite file, with the
// official TypeScript client:
//   - the answer is a ref with a shape preview of a few kilobytes, naming every row;
//   - the ref pages: get_cached_result's page 2 holds rows 3 to 5 of the file, and its last
//     page ends with the file's last row;
//   - the gateway's peak resident memory over the call is reported, and stays under the bound
//     docs/gateway.md gives for a result of that size ("Large results"); once the call is
//     answered, the gateway holds about what it held before.
//
//   node large_result.mjs --gateway BIN
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { FILESYSTEM, check, requiredOptions, scene, step } from './harness.mjs';

const [GATEWAY] = requiredOptions('large_result.mjs', '--gateway');
const { work } = scene('refcache-gateway-large-', 300);
const TARGET = 100 * 1000 * 1000;
const MIB = 1024 * 1024;

// The file: rows {"id","name","value"} up to TARGET bytes; returns the row count and size.
function writeRows(file) {
  const fd = fs.openSync(file, 'w');
  let size = 1, rows = 0, chunk = '[';
  while (size < TARGET) {
    const value = (rows * 7919) % 1000;
    const row = `${rows ? ',' : ''}{"id":${rows},"name":"row-${rows}","value":${value}}`;
    chunk += row;
    size += row.length;
    rows += 1;
    if (chunk.length > 1 << 20) { fs.writeSync(fd, chunk); chunk = ''; }
  }
  fs.writeSync(fd, chunk + ']');
  fs.closeSync(fd);
  return { rows, bytes: size + 1 };
}

const status = (pid, field) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1]) * 1024;
const structured = (r) => r.structuredContent ?? JSON.parse(r.content.find((b) => b.type === 'text').text);

async function main() {
  const file = path.join(work, 'rows.json');
  const { rows, bytes } = writeRows(file);
  step(`wrote ${file}: ${rows} rows, ${(bytes / MIB).toFixed(1)} MiB`);
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify({ mcpServers: { fs: { command: process.execPath, args: [FILESYSTEM, work] } } }));
  const transport = new StdioClientTransport({ command: GATEWAY, stderr: 'ignore',
    args: ['--config', configPath, '--backend', `sqlite:${path.join(work, 'store.db')}`, '--quota-bytes', String(1024 * MIB),
      '--call-timeout', '240'] });
  const client = new Client({ name: 'large-result', version: '1.0.0' });
  await client.connect(transport);
  const pid = transport.pid;
  const before = status(pid, 'VmRSS');

  const started = Date.now();
  const r = await client.callTool({ name: 'read_text_file', arguments: { path: file } }, undefined, { timeout: 240000 });
  const ms = Date.now() - started;
  const peak = status(pid, 'VmHWM');
  const after = status(pid, 'VmRSS');
  const answer = structured(r);
  check(!r.isError && /^gateway:[0-9a-f]{16}$/.test(answer.ref_id ?? ''), 'a 100 MB result is answered with a ref', JSON.stringify(r).slice(0, 400));
  const received = JSON.stringify(r).length;
  check(received < 64 * 1024, 'the answer is a few kilobytes, not the result', received);
  check(answer.source === 'json_text' && answer.preview_strategy === 'shape' && answer.total_items === rows,
    `the preview is the rows' shape and counts all ${rows} rows`, { ...answer, preview: undefined });
  step(`read_text_file of ${(bytes / MIB).toFixed(1)} MiB: ${answer.ref_id}, ${received} bytes to the client, ${ms} ms`);

  const page = structured(await client.callTool({ name: 'get_cached_result', arguments: { ref_id: answer.ref_id, page: 2, page_size: 3 } }));
  const ids = (page.preview ?? []).map((x) => x.id);
  check(JSON.stringify(ids) === '[3,4,5]', 'page 2 of 3 rows holds rows 3 to 5 of the file', page);
  step('the ref pages: page 2 holds rows 3, 4, 5');

  const lastPage = Math.ceil(rows / 3);
  const tail = structured(await client.callTool({ name: 'get_cached_result', arguments: { ref_id: answer.ref_id, page: lastPage, page_size: 3 } }));
  const last = (tail.preview ?? []).at(-1);
  check(last && last.id === rows - 1 && last.value === ((rows - 1) * 7919) % 1000, `the last page ends with row ${rows - 1} of the file`, tail);
  step(`page ${lastPage} ends with the file's last row, ${rows - 1}`);

  // The bound docs/gateway.md states ("Large results"): 11 times the result beside what the
  // gateway held before (its parsed rows are about four times the text; with them, the text,
  // its encoding for the store and SQLite's copy of that).
  const bound = before + 11 * bytes;
  console.log(`peak: ${JSON.stringify({ result_mib: +(bytes / MIB).toFixed(1), rss_before_mib: +(before / MIB).toFixed(1),
    peak_rss_mib: +(peak / MIB).toFixed(1), rss_after_mib: +(after / MIB).toFixed(1), peak_over_result: +((peak - before) / bytes).toFixed(2), store_ms: ms })}`);
  check(peak < bound, `the gateway's peak memory stays under ${(bound / MIB).toFixed(0)} MiB`, (peak / MIB).toFixed(1));
  step(`peak resident memory ${(peak / MIB).toFixed(0)} MiB, under the bound of ${(bound / MIB).toFixed(0)} MiB`);
  // Once answered, what the result took goes back to the system.
  check(after < before + 64 * MIB, 'after the call the gateway holds what it held before, within 64 MiB', (after / MIB).toFixed(1));
  step(`resident memory after the call: ${(after / MIB).toFixed(0)} MiB (before: ${(before / MIB).toFixed(0)} MiB)`);
  await client.close();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
