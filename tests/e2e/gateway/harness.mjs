// What the gateway's e2e scripts share: everything of ../harness.mjs (scratch directory, child
// processes, redis-server, HTTP servers, assertions, the official client), and the npm servers
// they put behind the gateway.
import path from 'node:path';
import { REPO } from '../harness.mjs';

export * from '../harness.mjs';

const pkg = (p) => path.join(REPO, 'node_modules', p);
export const EVERYTHING = pkg('@modelcontextprotocol/server-everything/dist/index.js');
export const FILESYSTEM = pkg('@modelcontextprotocol/server-filesystem/dist/index.js');
export const TS_OAUTH_EXAMPLE = pkg('@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js');
