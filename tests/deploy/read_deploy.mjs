// Reads deploy/compose.yaml and deploy/Dockerfile for check_deploy.sh: parses the compose file
// as YAML (the `yaml` package from node_modules), checks its structure, and writes what the
// shell script needs as plain files in OUT_DIR (one value per line):
//   <service>.bin      the program the service runs
//   <service>.args     its command-line arguments
//   <service>.health   its health-check command (exec form)
//   dockerfile.args / dockerfile.bin / dockerfile.health  the same for the Dockerfile's
//                      ENTRYPOINT + CMD and HEALTHCHECK (exec-form JSON arrays)
//   services           the server services, one per line
// Structural problems are printed as "FAIL: ..." lines on stdout; the exit code is 0 unless
// a file cannot be read or parsed at all (2).
//
// Usage: node read_deploy.mjs REPO_ROOT OUT_DIR
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [root, out] = process.argv.slice(2);
if (!root || !out) {
  console.error('usage: read_deploy.mjs REPO_ROOT OUT_DIR');
  process.exit(2);
}
const require = createRequire(path.join(root, 'package.json'));
let YAML;
try {
  YAML = require('yaml');
} catch (e) {
  console.error(`cannot load the yaml package from ${root}/node_modules: ${e.message}`);
  process.exit(2);
}

const fail = (msg) => console.log(`FAIL: ${msg}`);
const write = (name, lines) => fs.writeFileSync(path.join(out, name), lines.map(String).join('\n') + '\n');
const SERVERS = ['refcache-calculator', 'refcache-data-analysis'];

// --- Dockerfile: instructions with continuation lines joined ---------------------------------
const dockerfilePath = path.join(root, 'deploy/Dockerfile');
const instructions = [];
{
  let cur = '';
  for (const raw of fs.readFileSync(dockerfilePath, 'utf8').split('\n')) {
    const line = raw.trimEnd();
    if (!cur && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    cur += line;
    const m = cur.trim().match(/^(\w+)\s+([\s\S]*)$/);
    if (m) instructions.push({ op: m[1].toUpperCase(), rest: m[2].trim() });
    cur = '';
  }
}
const execForm = (what, text) => {
  try {
    const v = JSON.parse(text);
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error('not an array of strings');
    return v;
  } catch (e) {
    fail(`Dockerfile ${what} is not an exec-form JSON array (${e.message}): ${text}`);
    return [];
  }
};
const last = (op) => instructions.filter((i) => i.op === op).at(-1);
const entry = last('ENTRYPOINT');
const cmd = last('CMD');
const health = last('HEALTHCHECK');
const entryArgs = entry ? execForm('ENTRYPOINT', entry.rest) : [];
const cmdArgs = cmd ? execForm('CMD', cmd.rest) : [];
if (entryArgs.length !== 1 || !SERVERS.includes(entryArgs[0]))
  fail(`Dockerfile ENTRYPOINT must be one of ${SERVERS.join(', ')}; is ${JSON.stringify(entryArgs)}`);
write('dockerfile.bin', [entryArgs[0] ?? '']);
write('dockerfile.args', cmdArgs);
if (!health) {
  fail('Dockerfile has no HEALTHCHECK');
  write('dockerfile.health', []);
} else {
  const m = health.rest.match(/CMD\s+(\[[\s\S]*\])\s*$/);
  if (!m) {
    fail('Dockerfile HEALTHCHECK is not in exec form (CMD [...])');
    write('dockerfile.health', []);
  } else {
    write('dockerfile.health', execForm('HEALTHCHECK', m[1]));
  }
}
const user = last('USER');
if (!user || /^(root|0)(:|$)/.test(user.rest)) fail('Dockerfile must end with a non-root USER');
const froms = instructions.filter((i) => i.op === 'FROM');
if (froms.length < 2) fail('Dockerfile must be multi-stage (two FROM lines at least)');
for (const f of froms)
  if (!/^debian:bookworm-slim(\s|$)/.test(f.rest)) fail(`Dockerfile base image must be debian:bookworm-slim: FROM ${f.rest}`);

// --- compose.yaml ----------------------------------------------------------------------------
const composePath = path.join(root, 'deploy/compose.yaml');
let doc;
try {
  const parsed = YAML.parseDocument(fs.readFileSync(composePath, 'utf8'));
  if (parsed.errors.length) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  doc = parsed.toJS({ maxAliasCount: 100 });
} catch (e) {
  console.error(`deploy/compose.yaml is not valid YAML: ${e.message}`);
  process.exit(2);
}
const services = doc?.services ?? {};
const valkey = services.valkey;
if (!valkey) {
  fail('compose: no valkey service');
} else {
  const vcmd = [].concat(valkey.command ?? []).map(String);
  if (!/^valkey\/valkey:/.test(valkey.image ?? '')) fail(`compose: valkey image should be valkey/valkey:*, is ${valkey.image}`);
  if (!vcmd.includes('--requirepass')) fail('compose: valkey must run with --requirepass');
  const ao = vcmd.indexOf('--appendonly');
  if (ao < 0 || vcmd[ao + 1] !== 'yes') fail('compose: valkey must run with --appendonly yes');
  const vols = [].concat(valkey.volumes ?? []).map(String);
  const named = vols.map((v) => v.split(':')[0]).filter((n) => n in (doc.volumes ?? {}));
  if (!vols.some((v) => v.endsWith(':/data')) || named.length === 0)
    fail('compose: valkey must keep /data on a named volume declared under volumes:');
  if (!valkey.healthcheck?.test) fail('compose: valkey has no health check');
  if ((valkey.ports ?? []).some((p) => !String(p).startsWith('127.0.0.1:')))
    fail('compose: valkey ports, if any, must be published on 127.0.0.1 only');
}

const serverServices = [];
for (const [name, svc] of Object.entries(services)) {
  if (name === 'valkey') continue;
  serverServices.push(name);
  const build = svc.build;
  if (!build || typeof build !== 'object') {
    fail(`compose ${name}: must be built from deploy/Dockerfile (build: {context, dockerfile})`);
  } else {
    const ctx = path.resolve(path.dirname(composePath), build.context ?? '.');
    if (ctx !== path.resolve(root)) fail(`compose ${name}: build context ${build.context} is not the repository root`);
    const df = path.resolve(ctx, build.dockerfile ?? 'Dockerfile');
    if (df !== path.resolve(dockerfilePath)) fail(`compose ${name}: dockerfile ${build.dockerfile} is not deploy/Dockerfile`);
  }
  const ep = svc.entrypoint === undefined ? entryArgs : [].concat(svc.entrypoint).map(String);
  if (ep.length !== 1 || !SERVERS.includes(ep[0])) fail(`compose ${name}: entrypoint must be one server program, is ${JSON.stringify(ep)}`);
  const args = svc.command === undefined ? cmdArgs : [].concat(svc.command).map(String);
  write(`${name}.bin`, [ep[0] ?? '']);
  write(`${name}.args`, args);
  const test = [].concat(svc.healthcheck?.test ?? []).map(String);
  if (test[0] !== 'CMD') fail(`compose ${name}: health check must be exec form (test: [CMD, ...])`);
  write(`${name}.health`, test.slice(1));
  if (svc.depends_on?.valkey?.condition !== 'service_healthy')
    fail(`compose ${name}: depends_on valkey must have condition: service_healthy`);
  const ports = [].concat(svc.ports ?? []).map(String);
  if (ports.length === 0) fail(`compose ${name}: publishes no port`);
  for (const p of ports) if (!p.startsWith('127.0.0.1:')) fail(`compose ${name}: port ${p} must be published on 127.0.0.1 only`);
  const env = svc.environment ?? {};
  const redisEnv = Array.isArray(env) ? env.some((e) => /^REDIS_(URL|HOST)=/.test(e)) : ('REDIS_URL' in env || 'REDIS_HOST' in env);
  if (!redisEnv && !args.some((a) => a.startsWith('redis://') || a === '--backend'))
    fail(`compose ${name}: does not select the valkey backend (REDIS_HOST/REDIS_URL or --backend redis://...)`);
}
for (const program of SERVERS)
  if (!serverServices.some((s) => fs.readFileSync(path.join(out, `${s}.bin`), 'utf8').trim() === program))
    fail(`compose: no service runs ${program}`);
write('services', serverServices);
