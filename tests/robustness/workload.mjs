// The mixed workload of the robustness tests and the soak: what a client of the two product
// servers does, each answer checked for correctness.
//
//   write_calc      calculator.generate_sequence(arithmetic, start=U, count=30)  -> a new ref
//   write_analysis  data-analysis.transform_data([U..U+9], scale x3)          -> a new ref
//   preview         calculator.generate_sequence(arithmetic, start=U, count=1000): too large,
//                   answered with a preview and a ref (then paged)
//   page            get_cached_result(ref, page, page_size=5) on either server
//   cross           data-analysis.analyze_data(calculator ref): the value crosses servers
//
// "Acknowledged" writes (an ok answer carrying a ref) are remembered with their expected value
// so that tests can check afterwards that none was lost.
import { callTool, sc } from './lib.mjs';

const range = (start, n, step = 1) => Array.from({ length: n }, (_, i) => start + i * step);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const sum = (a) => a.reduce((x, y) => x + y, 0);

// Errors a fault may cause and that still say clearly what is wrong (a tool error naming the
// backend, or a JSON-RPC error with a message). Everything else is a failure of the test.
export function clearError(a) {
  if (a.kind === 'tool_error') return /backend|redis|sqlite|database|unavailable/i.test(a.text);
  if (a.kind === 'rpc_error') return a.message.length > 0;
  return false;
}

export class Workload {
  // servers: { calc: () => url | null, analysis: () => url | null } (null: that server is down
  // on purpose and gets no calls). seed: a distinct base per client process so values differ.
  constructor(servers, { seed = 0, timeoutMs = 10000 } = {}) {
    this.servers = servers;
    this.timeoutMs = timeoutMs;
    this.next = seed * 1e9 + Math.floor(Math.random() * 1e6) * 1000;
    this.acked = [];          // { server, ref, expect, t }
    this.events = [];         // every answer: { op, server, kind, t0, t1, text }
    this.wrong = [];          // ok answers with a wrong value: always a failure
    this.keepEvents = true;
  }

  unique(n) { const u = this.next; this.next += n; return u; }

  async call(op, server, tool, args) {
    const url = this.servers[server]();
    if (!url) return null;
    const t0 = performance.now();
    const a = await callTool(url, tool, args, { timeoutMs: this.timeoutMs });
    const e = { op, server, kind: a.kind, t0, t1: performance.now(), ms: a.ms };
    if (a.kind !== 'ok') e.text = a.text ?? a.message ?? '';
    if (a.kind === 'tool_error' || a.kind === 'rpc_error') e.clear = clearError(a);
    if (this.keepEvents) this.events.push(e);
    a.event = e;
    return a;
  }

  wrongValue(op, detail) { this.wrong.push({ op, detail: JSON.stringify(detail).slice(0, 500) }); }

  pickAcked(filter) {
    const pool = filter ? this.acked.filter(filter) : this.acked;
    return pool.length ? pool[Math.floor(Math.random() * pool.length)] : null;
  }

  async writeCalc() {
    const start = this.unique(30);
    const a = await this.call('write_calc', 'calc', 'generate_sequence', { sequence_type: 'arithmetic', start, count: 30 });
    if (a?.kind !== 'ok') return a;
    const s = sc(a);
    const expect = range(start, 30);
    if (!/^calculator:[0-9a-f]{16}$/.test(s?.ref_id ?? '') || !same(s.value, expect)) return this.wrongValue('write_calc', s), a;
    this.acked.push({ server: 'calc', ref: s.ref_id, expect, t: a.event.t1 });
    return a;
  }

  async writeAnalysis() {
    const start = this.unique(10);
    const data = range(start, 10);
    const a = await this.call('write_analysis', 'analysis', 'transform_data', { data, operation: 'scale', scale_factor: 3 });
    if (a?.kind !== 'ok') return a;
    const s = sc(a);
    const expect = data.map((x) => x * 3);
    if (!/^data-analysis:[0-9a-f]{16}$/.test(s?.ref_id ?? '') || !same(s.value, expect)) return this.wrongValue('write_analysis', s), a;
    this.acked.push({ server: 'analysis', ref: s.ref_id, expect, t: a.event.t1 });
    return a;
  }

  async preview() {
    const start = this.unique(1000);
    const a = await this.call('preview', 'calc', 'generate_sequence', { sequence_type: 'arithmetic', start, count: 1000 });
    if (a?.kind !== 'ok') return a;
    const s = sc(a);
    const p = s?.preview;
    if (s?.is_complete !== false || !Array.isArray(p) || p.length < 2 || p[0] !== start || s.total_items !== 1000)
      return this.wrongValue('preview', s), a;
    this.acked.push({ server: 'calc', ref: s.ref_id, expect: range(start, 1000), t: a.event.t1 });
    return a;
  }

  // A page of an acknowledged ref, on the server given or either at random.
  async page(server, ref = this.pickAcked()) {
    if (!ref) return null;
    server ??= Math.random() < 0.5 ? 'calc' : 'analysis';
    const pages = Math.ceil(ref.expect.length / 5);
    const page = 1 + Math.floor(Math.random() * pages);
    const a = await this.call('page', server, 'get_cached_result', { ref_id: ref.ref, page, page_size: 5 });
    if (a?.kind !== 'ok') return a;
    const s = sc(a);
    if (!same(s?.preview, ref.expect.slice((page - 1) * 5, page * 5))) this.wrongValue('page', { ref: ref.ref, page, s });
    return a;
  }

  async cross() {
    const ref = this.pickAcked((r) => r.server === 'calc');
    if (!ref) return null;
    const a = await this.call('cross', 'analysis', 'analyze_data', { data: ref.ref });
    if (a?.kind !== 'ok') return a;
    const v = sc(a)?.value;
    if (v?.count !== ref.expect.length || v?.sum !== sum(ref.expect)) this.wrongValue('cross', { ref: ref.ref, v });
    return a;
  }

  // Reads an acknowledged ref back whole; true when it holds its value.
  async verify(ref, server) {
    const a = await this.call('verify', server, 'get_cached_result', { ref_id: ref.ref, full: true });
    return a?.kind === 'ok' && same(sc(a)?.value, ref.expect);
  }

  // One step of the mix. `mix` weights the operations.
  async step(mix = { write_calc: 2, write_analysis: 2, preview: 1, page: 3, cross: 2 }) {
    const total = Object.values(mix).reduce((x, y) => x + y, 0);
    let r = Math.random() * total;
    for (const [op, w] of Object.entries(mix)) {
      if ((r -= w) > 0) continue;
      switch (op) {
        case 'write_calc': return this.writeCalc();
        case 'write_analysis': return this.writeAnalysis();
        case 'preview': return this.preview();
        case 'page': return this.page();
        case 'cross': return this.cross();
      }
    }
    return null;
  }
}

// Counts of events by kind (and clear/unclear errors), optionally for one server.
export function tally(events, server) {
  const t = { calls: 0, ok: 0, clear_errors: 0, unclear_errors: 0, timeouts: 0, transport: 0 };
  for (const e of events) {
    if (server && e.server !== server) continue;
    t.calls++;
    if (e.kind === 'ok') t.ok++;
    else if (e.kind === 'timeout') t.timeouts++;
    else if (e.kind === 'transport') t.transport++;
    else if (e.clear) t.clear_errors++;
    else t.unclear_errors++;
  }
  return t;
}
