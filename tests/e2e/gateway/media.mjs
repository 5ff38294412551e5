// Media by reference, with the official TypeScript client (@modelcontextprotocol/sdk) over
// Streamable HTTP, in front of @modelcontextprotocol/server-everything twice: once with
// `media: "ref"`, once as it is (the default, `pass`):
//   - get-tiny-image's image becomes a resource_link to refcache://{ref_id}; its text blocks
//     stay; resources/read of the link gives the same PNG bytes, typed image/png, as a blob;
//   - get-resource-reference's embedded resource becomes a link too, read back with its own
//     MIME type and content;
//   - the ref passes to another tool in place of the data (echo receives the base64 text);
//   - another user may not read the link (the answer of a missing resource);
//   - without the setting, the same tools' results pass through unchanged.
//
//   node media.mjs --gateway BIN
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EVERYTHING, check, connectHttp, requiredOptions, scene, startHttp, step, textOf } from './harness.mjs';

const [GATEWAY] = requiredOptions('media.mjs', '--gateway');
const { work, children } = scene('refcache-gateway-media-', 90);

async function main() {
  const configPath = path.join(work, 'mcp.json');
  fs.writeFileSync(configPath, JSON.stringify({ mcpServers: {
    media: { command: process.execPath, args: [EVERYTHING, 'stdio'], refcache: { prefix: 'm', media: 'ref' } },
    plain: { command: process.execPath, args: [EVERYTHING, 'stdio'], refcache: { prefix: 'p' } } } }));
  const ALICE = 'alice-' + Math.random().toString(36).slice(2);
  const BOB = 'bob-' + Math.random().toString(36).slice(2);
  const gw = await startHttp(GATEWAY, ['--config', configPath, '--backend', 'memory:', '--bearer-token', `${ALICE}=alice`,
    '--bearer-token', `${BOB}=bob`, '--namespace-template', 'user:{user_id}'], 'refcache-gateway', children);
  const alice = await connectHttp(gw.url, ALICE, 'alice');
  const bob = await connectHttp(gw.url, BOB, 'bob');
  const direct = new Client({ name: 'direct', version: '1.0.0' });
  await direct.connect(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'ignore' }));

  const upstream = await direct.callTool({ name: 'get-tiny-image', arguments: {} });
  const image = upstream.content.find((b) => b.type === 'image');
  check(image && image.mimeType === 'image/png' && image.data.length > 1000, 'server-everything answers an image', upstream);

  const got = await alice.callTool({ name: 'm_get-tiny-image', arguments: {} });
  check(!got.content.some((b) => b.type === 'image'), 'behind media: "ref" no image block reaches the client', got);
  const link = got.content.find((b) => b.type === 'resource_link');
  check(link && /^refcache:\/\/gateway:[0-9a-f]{16}$/.test(link.uri) && link.mimeType === 'image/png'
    && link.description.includes('bytes'), 'the image is a resource_link to its ref', got.content);
  check(isDeepStrictEqual(got.content.filter((b) => b.type === 'text'), upstream.content.filter((b) => b.type === 'text')),
    'the text blocks are the upstream\'s', got.content);
  step(`get-tiny-image: ${link.uri} (${link.description.split(')')[0]}))`);

  const read = await alice.readResource({ uri: link.uri });
  check(read.contents.length === 1 && read.contents[0].mimeType === 'image/png' && read.contents[0].blob === image.data,
    'resources/read of the link gives the same PNG, typed image/png, as a blob', read.contents.map((c) => ({ ...c, blob: c.blob?.length })));
  step(`resources/read: image/png, ${Buffer.from(read.contents[0].blob, 'base64').length} bytes, identical`);

  const refId = link.uri.slice('refcache://'.length);
  const echoed = await alice.callTool({ name: 'p_echo', arguments: { message: refId } });
  check(textOf(echoed) === `Echo: ${image.data}`, 'the ref passes to another tool as the base64 data', textOf(echoed).slice(0, 80));
  step('the image\'s ref flows into another tool in place of its data');

  let refused;
  try { await bob.readResource({ uri: link.uri }); } catch (e) { refused = String(e?.message ?? e); }
  let missing;
  try { await bob.readResource({ uri: 'refcache://gateway:00000000deadbeef' }); } catch (e) { missing = String(e?.message ?? e); }
  check(refused !== undefined && refused.replaceAll(link.uri, 'URI') === missing.replaceAll('refcache://gateway:00000000deadbeef', 'URI'),
    'bob may not read alice\'s image, and is answered as for a missing resource', { refused, missing });
  step('another user gets the answer of a missing resource');

  const refUp = await direct.callTool({ name: 'get-resource-reference', arguments: { resourceType: 'Text', resourceId: 2 } });
  const embedded = refUp.content.find((b) => b.type === 'resource');
  check(embedded?.resource?.text !== undefined, 'server-everything answers an embedded text resource', refUp);
  const refGot = await alice.callTool({ name: 'm_get-resource-reference', arguments: { resourceType: 'Text', resourceId: 2 } });
  const rlink = refGot.content.find((b) => b.type === 'resource_link' && b.uri.startsWith('refcache://'));
  check(rlink && !refGot.content.some((b) => b.type === 'resource') && rlink.description.includes(embedded.resource.uri),
    'the embedded resource is a link to its ref, naming its own URI', refGot.content);
  const rread = await alice.readResource({ uri: rlink.uri });
  // The resource's text says when server-everything made it ("created at 6:21:55 PM"): the
  // direct call and the gateway's may fall in different seconds.
  const untimed = (t) => t?.replace(/\d{1,2}:\d{2}:\d{2}\s?[AP]M/g, 'TIME');
  check(untimed(rread.contents[0].text) === untimed(embedded.resource.text) && rread.contents[0].text !== undefined
    && rread.contents[0].mimeType === (embedded.resource.mimeType ?? 'text/plain'),
    'and reads back as its text with its MIME type', rread.contents);
  step(`get-resource-reference: ${embedded.resource.uri} stored as ${rlink.uri}`);

  const plain = await alice.callTool({ name: 'p_get-tiny-image', arguments: {} });
  check(isDeepStrictEqual(plain.content, upstream.content), 'without the setting the image passes through unchanged', plain.content.map((b) => b.type));
  step('media: "pass" (the default) passes images through');

  for (const c of [alice, bob, direct]) await c.close();
  console.log('PASS');
  process.exit(0);
}

main().catch((e) => check(false, 'unexpected error', String(e?.stack ?? e)));
