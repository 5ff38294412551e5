// A throw-away PostgreSQL 15 (Debian's) for e2e tests: initdb into a data directory under a
// temporary directory, postgres listening on a free loopback port (and a Unix socket in the
// same temporary directory), trust authentication for the user `postgres`. PostgreSQL refuses
// to run as root, so when the test runs as root both programs run as `nobody` (runuser), and
// the directory is handed to that user. stop() ends the server and removes the directory.
//
//   const pg = await startPostgres();   // { url, port, stop() }
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../harness.mjs';

const BIN = '/usr/lib/postgresql/15/bin';

export async function startPostgres({ timeoutMs = 60000 } = {}) {
  if (!fs.existsSync(path.join(BIN, 'postgres')))
    throw new Error(`${BIN}/postgres is missing: run scripts/setup (Debian package postgresql)`);
  const root = process.getuid() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'refcache-pg-'));
  const dataDir = path.join(dir, 'data');
  const wrap = (cmd, args) => (root ? ['runuser', ['-u', 'nobody', '--', cmd, ...args]] : [cmd, args]);
  if (root) {
    fs.chmodSync(dir, 0o755);
    fs.chownSync(dir, 65534, 65534);
  }
  const [initCmd, initArgs] = wrap(path.join(BIN, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', timeout: timeoutMs });
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr}`);
  }
  const port = await freePort();
  const [pgCmd, pgArgs] = wrap(path.join(BIN, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off',
     '-c', 'max_connections=20']);
  const proc = spawn(pgCmd, pgArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    // SIGINT to the postmaster (whose pid heads postmaster.pid; runuser does not pass signals
    // on): a fast shutdown, which removes postmaster.pid when done.
    const pidFile = path.join(dataDir, 'postmaster.pid');
    let pid = 0;
    try { pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]); } catch { /* not started */ }
    const signal = (s) => { try { process.kill(pid, s); } catch { /* already gone */ } };
    if (pid > 0) {
      signal('SIGINT');
      const end = Date.now() + 10000;
      while (Date.now() < end && fs.existsSync(pidFile)) spawnSync('sleep', ['0.1']);
      if (fs.existsSync(pidFile)) signal('SIGKILL');
    }
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => { stop(); reject(new Error(`postgres did not start: ${log}`)); }, timeoutMs);
    const onData = (d) => {
      log += d.toString();
      if (log.includes('ready to accept connections')) { clearTimeout(t); resolve(); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => { clearTimeout(t); if (!stopped) reject(new Error(`postgres exited with ${code}: ${log}`)); });
  });
  return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, port, proc, stop };
}
