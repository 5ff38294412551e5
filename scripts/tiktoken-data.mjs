// Converts js-tiktoken's vocabularies into the binary files refcache's tokenizer embeds, and
// writes the Unicode class table its pre-tokenizers use. Run by scripts/fetch-tiktoken with
// the pinned Node 22: node tiktoken-data.mjs <js-tiktoken dist/ranks dir> <output dir>.
//
// <name>.ranks (little-endian):
//   "RCBPE001"  8 bytes
//   u32 count   number of tokens
//   count times: u32 rank, u8 length, `length` bytes of the token
// unicode_classes.bin (little-endian), a two-stage table over U+0000..U+10FFFF:
//   "RCUNI001"  8 bytes
//   u32 blocks  number of distinct 256-code-point blocks
//   u16 index[0x1100]  block of each 256-code-point range
//   u8  classes[blocks * 256]  bits: 1 [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], 2 [\p{Ll}\p{Lm}\p{Lo}\p{M}],
//                              4 \p{L}, 8 \p{N}, 16 \s (JavaScript's definition)
// unicode_version.txt: the Unicode version of this Node (the table's and the oracle's).
//
// The split patterns are checked against the ones src/refcache/tokenizer/pre_tokenizer.cpp
// implements by hand: a different pattern stops the conversion.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [ranksDir, outDir] = process.argv.slice(2);
if (!ranksDir || !outDir) {
  console.error("usage: tiktoken-data.mjs <ranks dir> <output dir>");
  process.exit(2);
}

const C = "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)";
const PATTERNS = {
  cl100k_base:
    C + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|" +
    "\\s+(?!\\S)|\\s+",
  o200k_base:
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" + C +
    "?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" + C +
    "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

for (const [name, pattern] of Object.entries(PATTERNS)) {
  const text = readFileSync(join(ranksDir, `${name}.js`), "utf8").trim();
  const prefix = "export default ";
  if (!text.startsWith(prefix)) throw new Error(`${name}: unexpected file layout`);
  const data = JSON.parse(text.slice(prefix.length).replace(/;$/, ""));
  if (data.pat_str !== pattern) throw new Error(`${name}: the split pattern differs`);
  const tokens = [];
  for (const line of data.bpe_ranks.split("\n")) {
    if (!line) continue;
    const [, offsetText, ...items] = line.split(" ");
    const offset = Number.parseInt(offsetText, 10);
    items.forEach((b64, i) => tokens.push([offset + i, Buffer.from(b64, "base64")]));
  }
  const seen = new Set();
  let size = 12;
  for (const [rank, bytes] of tokens) {
    if (bytes.length === 0 || bytes.length > 255) throw new Error(`${name}: token length`);
    const key = bytes.toString("latin1");
    if (seen.has(key)) throw new Error(`${name}: duplicate token`);
    seen.add(key);
    size += 5 + bytes.length;
  }
  const out = Buffer.alloc(size);
  out.write("RCBPE001", 0, "latin1");
  out.writeUInt32LE(tokens.length, 8);
  let at = 12;
  for (const [rank, bytes] of tokens) {
    out.writeUInt32LE(rank, at);
    out.writeUInt8(bytes.length, at + 4);
    bytes.copy(out, at + 5);
    at += 5 + bytes.length;
  }
  writeFileSync(join(outDir, `${name}.ranks`), out);
}

const tests = [
  [1, /^[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]$/u],
  [2, /^[\p{Ll}\p{Lm}\p{Lo}\p{M}]$/u],
  [4, /^\p{L}$/u],
  [8, /^\p{N}$/u],
  [16, /^\s$/u],
];
const classes = new Uint8Array(0x110000);
for (let cp = 0; cp < 0x110000; ++cp) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;  // no such code point in valid UTF-8
  const s = String.fromCodePoint(cp);
  let bits = 0;
  for (const [bit, re] of tests) if (re.test(s)) bits |= bit;
  classes[cp] = bits;
}
const blocks = new Map();
const index = new Uint16Array(0x1100);
const order = [];
for (let b = 0; b < 0x1100; ++b) {
  const block = classes.subarray(b * 256, b * 256 + 256);
  const key = Buffer.from(block).toString("latin1");
  if (!blocks.has(key)) {
    blocks.set(key, order.length);
    order.push(block);
  }
  index[b] = blocks.get(key);
}
const table = Buffer.alloc(12 + 2 * 0x1100 + 256 * order.length);
table.write("RCUNI001", 0, "latin1");
table.writeUInt32LE(order.length, 8);
for (let b = 0; b < 0x1100; ++b) table.writeUInt16LE(index[b], 12 + 2 * b);
order.forEach((block, i) => Buffer.from(block).copy(table, 12 + 2 * 0x1100 + 256 * i));
writeFileSync(join(outDir, "unicode_classes.bin"), table);
writeFileSync(join(outDir, "unicode_version.txt"), `${process.versions.unicode}\n`);
