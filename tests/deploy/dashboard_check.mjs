// Checks a Grafana dashboard (classic JSON model) against what Prometheus would scrape from
// refcache's GET /metrics. Pure functions, no I/O; grafana_dashboard.mjs runs the servers.
//
//   parseExposition(text)          -> Map(sample name -> {type, labels: Set})
//   mergeExpositions(maps)         -> one such Map (union of names and label names)
//   selectorsOf(expr)              -> {selectors, grouping, problems}: the vector selectors of a
//                                     PromQL expression, with their label matchers and the
//                                     functions enclosing them
//   checkStructure(dashboard)      -> [problem]: ids, gridPos, datasource variable, targets
//   checkMetrics(dashboard, series) -> [problem]: every name a panel or variable query uses is a
//                                     series /metrics exports, with the labels it matches on,
//                                     rated only if a counter (or a histogram's _bucket/_sum/
//                                     _count), _bucket only under histogram_quantile; legends
//                                     name only labels the result keeps
//   uncoveredFamilies(dashboard, series) -> [family]: exported families no panel shows
//
// A problem is a string naming the panel (or variable) and what is wrong.

// Label names Prometheus attaches to every scraped series; panels may match and group on them.
const TARGET_LABELS = new Set(['job', 'instance']);

const AGGREGATORS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count',
  'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const FUNCTIONS = new Set(['abs', 'absent', 'absent_over_time', 'ceil', 'changes', 'clamp', 'clamp_max',
  'clamp_min', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp',
  'floor', 'histogram_quantile', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join',
  'label_replace', 'ln', 'log2', 'log10', 'minute', 'month', 'predict_linear', 'rate', 'resets', 'round',
  'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt', 'time', 'timestamp', 'vector', 'year', 'avg_over_time',
  'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'quantile_over_time',
  'stddev_over_time', 'stdvar_over_time', 'last_over_time', 'present_over_time', 'label_values']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2']);
// Functions whose argument must be a counter.
const RATES = new Set(['rate', 'irate', 'increase', 'resets']);

// --- /metrics -------------------------------------------------------------------------------

export function parseExposition(text) {
  const types = new Map();  // family -> type
  const series = new Map(); // sample name -> {family, type, labels}
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const t = line.match(/^#\s+TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)/);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+/);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const name = m[1];
    const labels = new Set();
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"(?:[^"\\]|\\.)*"/g)) labels.add(l[1]);
    let family = name;
    let type = types.get(name);
    if (type === undefined) {
      const s = name.match(/^(.*)_(bucket|sum|count)$/);
      if (s && (types.get(s[1]) === 'histogram' || types.get(s[1]) === 'summary')) {
        family = s[1];
        type = `${types.get(s[1])}_${s[2]}`;
      } else {
        type = 'untyped';
      }
    }
    const e = series.get(name) ?? { family, type, labels: new Set() };
    for (const l of labels) e.labels.add(l);
    series.set(name, e);
  }
  return series;
}

export function mergeExpositions(maps) {
  const out = new Map();
  for (const m of maps)
    for (const [name, e] of m) {
      const o = out.get(name) ?? { family: e.family, type: e.type, labels: new Set() };
      for (const l of e.labels) o.labels.add(l);
      out.set(name, o);
    }
  return out;
}

// --- PromQL ---------------------------------------------------------------------------------

function tokenize(expr) {
  const toks = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' && c !== '`' ? 2 : 1;
      if (j >= expr.length) throw new Error(`unterminated string at ${i}`);
      toks.push({ t: 'str', v: expr.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === '[') {  // a range or subquery: durations and Grafana variables, never a name
      const j = expr.indexOf(']', i);
      if (j < 0) throw new Error(`unterminated [ at ${i}`);
      toks.push({ t: 'range', v: expr.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    let m = expr.slice(i).match(/^(\d+(\.\d+)?([eE][+-]?\d+)?[a-z]*|\.\d+)/);
    if (m) { toks.push({ t: 'num', v: m[0] }); i += m[0].length; continue; }
    m = expr.slice(i).match(/^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/);
    if (m) { toks.push({ t: 'var', v: m[0] }); i += m[0].length; continue; }
    m = expr.slice(i).match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/);
    if (m) { toks.push({ t: 'ident', v: m[0] }); i += m[0].length; continue; }
    m = expr.slice(i).match(/^(=~|!~|!=|==|>=|<=|[-+*/%^=<>(){},])/);
    if (m) { toks.push({ t: 'p', v: m[0] }); i += m[0].length; continue; }
    throw new Error(`unexpected '${c}' at ${i}`);
  }
  return toks;
}

// Returns {selectors: [{name, matchers: [{label, op, value}], functions: [outermost..innermost]}],
// grouping: [label], aggregated: whether an aggregation operator is used, problems: [string]}.
export function selectorsOf(expr) {
  const out = { selectors: [], grouping: [], aggregated: false, problems: [] };
  let toks;
  try {
    toks = tokenize(expr);
  } catch (e) {
    out.problems.push(`cannot parse: ${e.message}`);
    return out;
  }
  const stack = [];  // one entry per open '(': the function name, or null for grouping parens
  const peek = (k) => toks[k] ?? { t: 'end', v: '' };
  const matchers = (k, sel) => {  // toks[k] is '{'; returns the index after '}'
    k++;
    while (peek(k).v !== '}') {
      const label = peek(k), op = peek(k + 1), value = peek(k + 2);
      if (label.t !== 'ident' || !['=', '!=', '=~', '!~'].includes(op.v) || value.t !== 'str') {
        out.problems.push(`bad label matcher near '${label.v} ${op.v}'`);
        return toks.length;
      }
      sel.matchers.push({ label: label.v, op: op.v, value: value.v });
      k += 3;
      if (peek(k).v === ',') k++;
      else if (peek(k).v !== '}') {
        out.problems.push(`expected , or } after matcher on '${label.v}'`);
        return toks.length;
      }
    }
    return k + 1;
  };
  const grouping = (k) => {  // toks[k] is by/without/...; returns the index after its label list
    const kw = toks[k].v;
    k++;
    if (peek(k).v !== '(') return k;  // group_left without labels
    k++;
    while (peek(k).t === 'ident' || peek(k).v === ',') {
      if (peek(k).t === 'ident') out.grouping.push(peek(k).v);
      k++;
    }
    if (peek(k).v !== ')') out.problems.push(`unclosed ${kw} (...)`);
    return k + 1;
  };
  for (let k = 0; k < toks.length;) {
    const tok = toks[k];
    if (tok.t === 'ident' && GROUPING.has(tok.v)) {
      k = grouping(k);
      continue;
    }
    // sum by (a) (expr): the aggregator's grouping comes before its argument.
    if (tok.t === 'ident' && AGGREGATORS.has(tok.v) && GROUPING.has(peek(k + 1).v)) {
      k = grouping(k + 1);
      if (peek(k).v !== '(') out.problems.push(`${tok.v} by (...) without an argument`);
      stack.push(tok.v);
      out.aggregated = true;
      k++;
      continue;
    }
    if (tok.t === 'ident' && KEYWORDS.has(tok.v)) { k++; continue; }
    if (tok.t === 'ident' && peek(k + 1).v === '(') {
      if (!AGGREGATORS.has(tok.v) && !FUNCTIONS.has(tok.v)) out.problems.push(`unknown function ${tok.v}()`);
      if (AGGREGATORS.has(tok.v)) out.aggregated = true;
      stack.push(tok.v);
      k += 2;
      continue;
    }
    if (tok.t === 'ident' || (tok.t === 'p' && tok.v === '{')) {
      const sel = { name: tok.t === 'ident' ? tok.v : undefined, matchers: [], functions: stack.filter(Boolean) };
      k = tok.t === 'ident' ? k + 1 : k;
      if (peek(k).v === '{') k = matchers(k, sel);
      if (sel.name === undefined) {
        const n = sel.matchers.find((m) => m.label === '__name__' && m.op === '=');
        if (!n) out.problems.push('a selector without a metric name cannot be checked');
        else sel.name = n.value;
        sel.matchers = sel.matchers.filter((m) => m.label !== '__name__');
      }
      if (sel.name !== undefined) out.selectors.push(sel);
      continue;
    }
    if (tok.t === 'p' && tok.v === '(') stack.push(null);
    if (tok.t === 'p' && tok.v === ')') {
      if (stack.length === 0) out.problems.push('unbalanced )');
      stack.pop();
    }
    k++;
  }
  if (stack.length) out.problems.push('unbalanced (');
  return out;
}

// --- the dashboard --------------------------------------------------------------------------

// Every panel, rows' nested panels included.
export function allPanels(dashboard) {
  const out = [];
  for (const p of dashboard.panels ?? []) {
    out.push(p);
    for (const q of p.panels ?? []) out.push(q);
  }
  return out;
}

// The datasource reference panels must use: "${name}" of a datasource variable for Prometheus,
// or "${DS_...}" of an import input.
function datasourceRefs(dashboard) {
  const refs = new Set();
  for (const v of dashboard.templating?.list ?? [])
    if (v.type === 'datasource' && v.query === 'prometheus') refs.add(`\${${v.name}}`);
  for (const i of dashboard.__inputs ?? [])
    if (i.type === 'datasource' && i.pluginId === 'prometheus') refs.add(`\${${i.name}}`);
  return refs;
}

export function checkStructure(dashboard) {
  const problems = [];
  const p = (msg) => problems.push(msg);
  if (typeof dashboard !== 'object' || dashboard === null) return ['the dashboard is not a JSON object'];
  if (!Number.isInteger(dashboard.schemaVersion) || dashboard.schemaVersion < 39)
    p(`schemaVersion ${dashboard.schemaVersion}: want a current Grafana's (39 or later)`);
  if (typeof dashboard.title !== 'string' || !dashboard.title) p('the dashboard has no title');
  if (typeof dashboard.uid !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(dashboard.uid))
    p(`uid ${JSON.stringify(dashboard.uid)}: want 1-40 letters, digits, - or _`);
  if (!Array.isArray(dashboard.panels) || dashboard.panels.length === 0) p('the dashboard has no panels');
  const refs = datasourceRefs(dashboard);
  if (refs.size === 0) p('no Prometheus datasource variable (type datasource, query prometheus) or input');
  const usesDs = (ds) => ds && ds.type === 'prometheus' && refs.has(ds.uid);
  const vars = new Map((dashboard.templating?.list ?? []).map((v) => [v.name, v]));
  for (const name of ['job', 'instance']) {
    const v = vars.get(name);
    if (!v) { p(`no template variable '${name}'`); continue; }
    if (v.type !== 'query') p(`variable '${name}' is not a query variable`);
    if (!usesDs(v.datasource)) p(`variable '${name}' does not use the datasource variable`);
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (!new RegExp(`,\\s*${name}\\s*\\)\\s*$`).test(q ?? '')) p(`variable '${name}' does not list ${name} values: ${q}`);
  }

  const ids = new Set();
  const cells = [];
  for (const panel of allPanels(dashboard)) {
    const what = `panel ${JSON.stringify(panel.title ?? panel.id)}`;
    if (!Number.isInteger(panel.id) || panel.id <= 0) p(`${what}: id ${panel.id} is not a positive integer`);
    else if (ids.has(panel.id)) p(`${what}: id ${panel.id} is used twice`);
    else ids.add(panel.id);
    if (typeof panel.type !== 'string' || !panel.type) p(`${what}: no type`);
    if (typeof panel.title !== 'string' || !panel.title) p(`${what}: no title`);
    const g = panel.gridPos;
    if (!g || !['x', 'y', 'w', 'h'].every((k) => Number.isInteger(g[k]) && g[k] >= 0) || g.w < 1 || g.h < 1 || g.x + g.w > 24) {
      p(`${what}: gridPos ${JSON.stringify(g)} is not {x, y, w, h} integers within 24 columns`);
    } else {
      for (const c of cells)
        if (g.x < c.g.x + c.g.w && c.g.x < g.x + g.w && g.y < c.g.y + c.g.h && c.g.y < g.y + g.h)
          p(`${what}: overlaps panel ${JSON.stringify(c.title)}`);
      cells.push({ g, title: panel.title });
    }
    if (panel.type === 'row') continue;
    if (!usesDs(panel.datasource)) p(`${what}: datasource ${JSON.stringify(panel.datasource)} is not the datasource variable`);
    if (!Array.isArray(panel.targets) || panel.targets.length === 0) { p(`${what}: no targets`); continue; }
    const refIds = new Set();
    for (const t of panel.targets) {
      if (typeof t.expr !== 'string' || !t.expr.trim()) p(`${what}: a target has no expr`);
      if (typeof t.refId !== 'string' || !t.refId || refIds.has(t.refId)) p(`${what}: target refId ${t.refId} missing or repeated`);
      refIds.add(t.refId);
      if (t.datasource !== undefined && !usesDs(t.datasource)) p(`${what}: target ${t.refId} datasource is not the datasource variable`);
    }
  }
  return problems;
}

// Queries to check: each panel target's expr, and the job/instance variables' label_values().
function queries(dashboard) {
  const out = [];
  for (const panel of allPanels(dashboard))
    for (const t of panel.targets ?? [])
      if (typeof t.expr === 'string')
        out.push({ where: `panel ${JSON.stringify(panel.title)} ${t.refId}`, expr: t.expr, panel: true, legend: t.legendFormat });
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
    const m = q.match(/^\s*label_values\(\s*(.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/);
    out.push({ where: `variable '${v.name}'`, expr: m ? m[1] : q, panel: false });
  }
  return out;
}

export function checkMetrics(dashboard, series) {
  const problems = [];
  for (const { where, expr, panel, legend } of queries(dashboard)) {
    const { selectors, grouping, aggregated, problems: parse } = selectorsOf(expr);
    for (const msg of parse) problems.push(`${where}: ${msg}: ${expr}`);
    if (selectors.length === 0 && parse.length === 0) problems.push(`${where}: names no metric: ${expr}`);
    const labelsHere = new Set(TARGET_LABELS);
    for (const sel of selectors) {
      const e = series.get(sel.name);
      if (!e) {
        const hint = series.has(`${sel.name}_bucket`) ? ` (a histogram: use ${sel.name}_bucket, _sum or _count)` : '';
        problems.push(`${where}: names ${sel.name}, which /metrics does not export${hint}`);
        continue;
      }
      for (const l of e.labels) labelsHere.add(l);
      for (const m of sel.matchers)
        if (!TARGET_LABELS.has(m.label) && !e.labels.has(m.label))
          problems.push(`${where}: ${sel.name} has no label '${m.label}' (it has: ${[...e.labels].join(', ') || 'none'})`);
      const rated = sel.functions.filter((f) => RATES.has(f));
      const counterLike = e.type === 'counter' || /^(histogram|summary)_(bucket|sum|count)$/.test(e.type);
      if (rated.length && !counterLike) problems.push(`${where}: ${rated[0]}() of ${sel.name}, a ${e.type}, not a counter`);
      if (e.type === 'histogram_bucket' && !sel.functions.includes('histogram_quantile'))
        problems.push(`${where}: ${sel.name} outside histogram_quantile()`);
      if (sel.functions.includes('histogram_quantile') && e.type !== 'histogram_bucket')
        problems.push(`${where}: histogram_quantile() over ${sel.name}, not a histogram's _bucket series`);
      if (panel)
        for (const v of ['job', 'instance'])
          if (!sel.matchers.some((m) => m.label === v && m.value.includes(`$${v}`)))
            problems.push(`${where}: ${sel.name} does not select ${v}=~"$${v}"`);
    }
    for (const g of grouping)
      if (!labelsHere.has(g)) problems.push(`${where}: groups by '${g}', a label none of its series has`);
    // A legend names labels the result keeps: after an aggregation only the grouping ones.
    for (const m of (legend ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) {
      const kept = aggregated ? grouping.includes(m[1]) : labelsHere.has(m[1]);
      if (!kept) problems.push(`${where}: legend {{${m[1]}}}: the result has no label '${m[1]}'`);
    }
  }
  return problems;
}

export function uncoveredFamilies(dashboard, series) {
  const used = new Set();
  for (const { expr } of queries(dashboard))
    for (const sel of selectorsOf(expr).selectors) used.add(series.get(sel.name)?.family ?? sel.name);
  const families = new Set([...series.values()].map((e) => e.family));
  return [...families].filter((f) => !used.has(f)).sort();
}
