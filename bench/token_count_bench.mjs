// js-tiktoken's counting speed on the texts token_count_bench measures, for comparison:
// node token_count_bench.mjs NAME=FILE.... Prints one JSON object: per text and encoding, the
// token count and the best MB/s of three runs of encode(text, [], []).length (js-tiktoken has
// no count-only call).
import { readFileSync } from "node:fs";
import { Tiktoken } from "js-tiktoken/lite";
import o200k_base from "js-tiktoken/ranks/o200k_base";
import cl100k_base from "js-tiktoken/ranks/cl100k_base";

const encodings = [["o200k_base", new Tiktoken(o200k_base)], ["cl100k_base", new Tiktoken(cl100k_base)]];
const out = {};
for (const arg of process.argv.slice(2)) {
  const [name, file] = arg.split("=");
  const text = readFileSync(file, "utf8");
  const bytes = Buffer.byteLength(text, "utf8");
  out[name] = {};
  for (const [encoding, enc] of encodings) {
    let best = Infinity, tokens = 0;
    for (let run = 0; run < 3; ++run) {
      const t0 = process.hrtime.bigint();
      tokens = enc.encode(text, [], []).length;
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    out[name][encoding] = { tokens, mb_s: bytes / 1e6 / best };
  }
}
console.log(JSON.stringify(out));
