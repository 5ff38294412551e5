// The oracle of tokenizer_agreement_test: js-tiktoken's token ids for each document of a
// corpus, and its count for the whole corpus as one text, for o200k_base and cl100k_base.
// node tiktoken_oracle.mjs <corpus.json: array of strings> <out.json>
// Special tokens are ordinary text (encode(text, [], [])), as in refcache's tokenizer.
import { readFileSync, writeFileSync } from "node:fs";
import { Tiktoken } from "js-tiktoken/lite";
import o200k_base from "js-tiktoken/ranks/o200k_base";
import cl100k_base from "js-tiktoken/ranks/cl100k_base";

const [corpusPath, outPath] = process.argv.slice(2);
const docs = JSON.parse(readFileSync(corpusPath, "utf8"));
const out = {};
for (const [name, ranks] of [["o200k_base", o200k_base], ["cl100k_base", cl100k_base]]) {
  const enc = new Tiktoken(ranks);
  out[name] = {
    ids: docs.map((d) => enc.encode(d, [], [])),
    whole: enc.encode(docs.join(""), [], []).length,
  };
}
writeFileSync(outPath, JSON.stringify(out));
