// The processes the gateway's e2e scripts start: a password-protected redis-server and HTTP
// servers (refcache-gateway, refcache-calculator) on free loopback ports. Each process is
// pushed onto the caller's `children` list, which the script ends on exit.
//
//   const redis = await startRedis(work, children);          // { url, password }
//   const gw = await startHttp(BIN, flags, 'name', children); // { url: URL, log }
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './postgres_fixture.mjs';

export { freePort };

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// A redis-server with a random password, no persistence, its directory under `work`.
export async function startRedis(work, children) {
  const port = await freePort();
  const password = 'pw-' + Math.random().toString(36).slice(2);
  const dir = fs.mkdtempSync(path.join(work, 'redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password,
    '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(proc);
  for (let k = 0; k < 100; k++) {
    const r = spawnSync('redis-cli', ['-p', String(port), '-a', password, '--no-auth-warning', 'ping']);
    if (r.stdout?.toString().trim() === 'PONG') return { url: `redis://:${password}@127.0.0.1:${port}/0`, password };
    await sleep(100);
  }
  throw new Error('redis-server did not start');
}

// Starts `bin` serving Streamable HTTP on a free loopback port; resolves with its URL and a
// reader of its stderr (`log.text`, `log.lines()`), once it says where it listens.
export function startHttp(bin, extra, name, children) {
  const proc = spawn(bin, [...extra, '--transport', 'http', '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  const log = { text: '', lines() { return this.text.split('\n').filter((l) => l.length > 0); } };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start: ${log.text}`)), 60000);
    proc.stderr.on('data', (d) => {
      log.text += d.toString();
      const m = log.text.match(/listening on (http:\/\/[^\s"\\]+)/);
      if (m) { clearTimeout(t); resolve({ url: new URL(m[1]), log }); }
    });
    proc.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${log.text}`)));
  });
}
