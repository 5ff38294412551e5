// Output schemas through the gateway, with the official TypeScript client, which checks every
// structuredContent against the tool's listed outputSchema: server-everything's
// get-structured-content lists one; the gateway lists anyOf[the upstream's, a ref answer], so
//   - a result passed through (under the threshold) is the upstream's and validates;
//   - the same result made a ref (a tool threshold of 1) is a ref answer and validates too;
//   - a ref answer still names the upstream's schema beside it.
//
//   node output_schema.mjs --gateway BIN
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { EVERYTHING, check, connectHttp, requiredOptions, sc, scene, startHttp, step } from './harness.mjs';

const [GATEWAY] = requiredOptions('output_schema.mjs', '--gateway');
const { work, children } = scene('refcache-gateway-schema-', 60);

async function main() {
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify({ mcpServers: {
    whole: { command: process.execPath, args: [EVERYTHING, 'stdio'], refcache: { prefix: 'w' } },
    refs: { command: process.execPath, args: [EVERYTHING, 'stdio'], refcache: { prefix: 'r', tools: { 'get-structured-content': { threshold: 1 } } } } } }));
  const gw = await startHttp(GATEWAY, ['--config', configPath, '--backend', 'memory:'], 'refcache-gateway', children);
  const client = await connectHttp(gw.url, undefined, 'schema');
  const tools = (await client.listTools()).tools;
  const listed = tools.find((t) => t.name === 'w_get-structured-content')?.outputSchema;
  check(listed?.type === 'object' && listed.anyOf?.length === 2 && listed.anyOf[0].properties?.temperature
    && listed.anyOf[1].required?.includes('ref_id'), 'the gateway lists anyOf[the upstream\'s output schema, a ref answer]', listed);
  check(tools.find((t) => t.name === 'w_echo')?.outputSchema === undefined, 'and none for a tool whose upstream lists none');
  step('output schemas listed');

  // callTool validates structuredContent against the listed schema and throws when it fails.
  const whole = await client.callTool({ name: 'w_get-structured-content', arguments: { location: 'Chicago' } });
  check(typeof sc(whole).temperature === 'number' && sc(whole).ref_id === undefined, 'a result passed through validates', whole);
  const ref = await client.callTool({ name: 'r_get-structured-content', arguments: { location: 'Chicago' } });
  check(typeof sc(ref).ref_id === 'string' && sc(ref).is_complete === false, 'the same result as a ref validates', ref);
  const back = await client.callTool({ name: 'get_cached_result', arguments: { ref_id: sc(ref).ref_id, full: true } });
  check(isDeepStrictEqual(sc(back).value, sc(whole)), 'and the ref holds the upstream\'s structuredContent', { back, whole });
  step('the TypeScript client validated both answers against the listed schema');

  await client.close();
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => check(false, 'unexpected error', String(e?.stack ?? e)));
