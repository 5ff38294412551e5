// The soak of tests/robustness as a benchmark: both product servers sharing one cache under the
// mixed workload (tool calls, previews, paging, cross-server refs) from several client
// processes; prints one JSON line (calls/s, p50/p99 overall and per operation, memory and
// descriptors of both servers). Same flags as tests/robustness/soak.mjs; assertions are off.
//
//   node bench/soak.mjs --calc build/release/apps/refcache-calculator/refcache-calculator \
//     --analysis build/release/apps/refcache-data-analysis/refcache-data-analysis \
//     [--seconds 60] [--clients 3] [--concurrency 4] [--backend sqlite|redis]
if (!process.argv.includes('--no-assert')) process.argv.push('--no-assert');
await import('../tests/robustness/soak.mjs');
