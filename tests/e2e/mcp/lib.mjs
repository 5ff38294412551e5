// Helpers shared by the e2e scripts: start the fixture over HTTP on a free loopback port, and
// assertions that print what was expected.
import { spawn } from 'node:child_process';

export function check(cond, what, detail) {
  if (!cond) {
    console.error(`FAIL: ${what}`, detail === undefined ? '' : JSON.stringify(detail));
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

export async function startHttp(bin, extraArgs = []) {
  const proc = spawn(bin, ['--host', '127.0.0.1', '--port', '0', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const base = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start: ' + err)), 5000);
    proc.stderr.on('data', (d) => {
      err += d.toString();
      const m = err.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    proc.on('exit', (c) => reject(new Error('server exited ' + c + ': ' + err)));
  });
  return {
    base,
    proc,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    stop: () => new Promise((r) => { if (proc.exitCode !== null) return r(); proc.on('exit', r); proc.kill('SIGTERM'); }),
  };
}

export function withTimeout(p, ms, what) {
  return Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout: ' + what)), ms))]);
}
