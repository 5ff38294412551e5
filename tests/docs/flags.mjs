// The docs agree with the programs: every flag the documentation gives the refcache servers
// (the flags table of docs/configuration.md, and every command line in README.md and docs/
// that runs refcache-calculator or refcache-data-analysis) is a flag their --help lists, and
// every flag --help lists is in the flags table.
//   node flags.mjs --calc BIN --analysis BIN --repo ROOT
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (n) => args[args.indexOf(n) + 1];
const repo = opt('--repo');
const fail = (what) => { console.error(`FAIL: ${what}`); process.exit(1); };

const help = (bin) => {
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) fail(`${bin} --help exited ${r.status}: ${r.stderr}`);
  return new Set([...r.stdout.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]));
};
const calc = help(opt('--calc'));
const analysis = help(opt('--analysis'));
for (const f of calc) if (!analysis.has(f)) fail(`refcache-calculator has ${f}, refcache-data-analysis has not`);

const docs = ['README.md', ...fs.readdirSync(path.join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const documented = new Map();  // flag -> where
const table = new Set();        // the flags of the flags table
const note = (flag, where) => { if (!documented.has(flag)) documented.set(flag, where); };
for (const doc of docs) {
  const lines = fs.readFileSync(path.join(repo, doc), 'utf8').split('\n');
  let inTable = false;
  lines.forEach((line, i) => {
    const where = `${doc}:${i + 1}`;
    // The servers' flags table: rows that begin with a flag.
    if (doc === 'docs/configuration.md') {
      if (/^\| flag \| environment \|/.test(line)) inTable = true;
      else if (inTable && !line.startsWith('|')) inTable = false;
      if (inTable) {
        const first = line.split(/(?<!\\)\|/)[1] ?? '';
        for (const m of first.matchAll(/--[a-z][a-z0-9-]*/g)) { note(m[0], where); table.add(m[0]); }
      }
    }
    // Command lines that run one of the servers: the flags after its name.
    const run = /(?:^|[\s/"'`])(refcache-calculator|refcache-data-analysis)(?=[\s"'`]|$)(.*)$/.exec(line);
    if (run && !/claude mcp add|npx|docker|\bcmake\b/.test(line)) {
      for (const m of run[2].matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) note(m[0], where);
    }
  });
}
if (documented.size < 10) fail(`only ${documented.size} documented flags found: the parser lost the flags table`);
let bad = 0;
for (const [flag, where] of documented) {
  if (!calc.has(flag)) { console.error(`FAIL: ${where} documents ${flag}, which --help does not list`); bad++; }
}
for (const flag of calc) {
  if (flag === '--help') continue;
  if (!table.has(flag)) { console.error(`FAIL: --help lists ${flag}, the flags table of docs/configuration.md does not`); bad++; }
}
if (bad) process.exit(1);
console.log(`ok: ${documented.size} documented flags are the servers' flags, and all ${calc.size - 1} of --help are documented`);
