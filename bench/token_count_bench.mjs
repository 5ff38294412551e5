// js-tiktoken's counting speed on the text token_count_bench measures, for comparison:
// node token_count_bench.mjs <text file>. Prints one JSON object: per encoding, the token
// count and the best MB/s of several runs of encode(text, [], []).length (js-tiktoken has no
// count-only call).
import { readFileSync } from "node:fs";
import { Tiktoken } from "js-tiktoken/lite";
import o200k_base from "js-tiktoken/ranks/o200k_base";
import cl100k_base from "js-tiktoken/ranks/cl100k_base";

const text = readFileSync(process.argv[2], "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const out = {};
for (const [name, ranks] of [["o200k_base", o200k_base], ["cl100k_base", cl100k_base]]) {
  const enc = new Tiktoken(ranks);
  let best = Infinity, tokens = 0;
  for (let run = 0; run < 3; ++run) {
    const t0 = process.hrtime.bigint();
    tokens = enc.encode(text, [], []).length;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  out[name] = { tokens, mb_s: bytes / 1e6 / best };
}
console.log(JSON.stringify(out));
