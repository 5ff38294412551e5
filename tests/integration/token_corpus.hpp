// A deterministic corpus for the tokenizer: documents of JSON, English prose, source code,
// non-Latin scripts (CJK, Arabic with vowel marks, Cyrillic, Devanagari, Greek, Thai),
// emoji sequences, combining marks, title-case and modifier letters, numbers of every kind,
// long runs of spaces, digits and punctuation, and a random soup of code points from every
// class the split patterns test. The same seed gives the same documents on every machine
// (splitmix64, no <random> distributions), so the tokenizer's agreement test and its
// benchmark measure the same text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace refcache::test {

class TokenCorpus {
 public:
  // Documents until their total size reaches `min_bytes`.
  static std::vector<std::string> generate(std::size_t min_bytes, std::uint64_t seed = 24) {
    TokenCorpus c(seed);
    std::vector<std::string> docs;
    std::size_t total = 0;
    for (std::size_t k = 0; total < min_bytes; ++k) {
      std::string d = c.document(k);
      total += d.size();
      docs.push_back(std::move(d));
    }
    return docs;
  }

  static std::string joined(const std::vector<std::string>& docs) {
    std::string s;
    for (const auto& d : docs) s += d;
    return s;
  }

 private:
  explicit TokenCorpus(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  template <class T, std::size_t N>
  const T& pick(const T (&a)[N]) {  // NOLINT(modernize-avoid-c-arrays)
    return a[below(N)];
  }

  static void put(std::string& s, char32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  void put_range(std::string& s, char32_t lo, char32_t hi, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) put(s, lo + static_cast<char32_t>(below(hi - lo + 1)));
  }

  std::string document(std::size_t k) {
    switch (k % 8) {
      case 0:
      case 1:
        return json();
      case 2:
        return prose();
      case 3:
        return code();
      case 4:
      case 5:
        return scripts();
      case 6:
        return soup();
      default:
        return runs();
    }
  }

  std::string word() {
    static const char* const kWords[] = {
        "the",        "cache",         "reference",
        "token",      "preview",       "server",
        "value",      "Budget",        "JSON",
        "HTTP",       "naïve",         "café",
        "résumé",     "über",          "Straße",
        "données",    "isn't",         "they'RE",
        "I'M",        "we'll",         "you've",
        "it'd",       "O'Neil",        "rock'n'roll",
        "McDonald",   "iPhone",        "XMLHttpRequest",
        "snake_case", "kebab-case",    "UPPER",
        "a",          "encyclopaedia", "antidisestablishmentarianism",
        "x86_64",     "v2.3.1",        "e-mail"};
    return pick(kWords);
  }

  std::string prose() {
    std::string s;
    const std::size_t sentences = 5 + below(30);
    for (std::size_t i = 0; i < sentences; ++i) {
      const std::size_t words = 3 + below(18);
      for (std::size_t w = 0; w < words; ++w) {
        if (w) s += below(40) == 0 ? "  " : " ";
        std::string x = word();
        if (w == 0 && !x.empty() && x[0] >= 'a' && x[0] <= 'z') x[0] = static_cast<char>(x[0] - 32);
        s += x;
        if (below(12) == 0) s += pick({",", ";", ":", " -", " (see below)", "'s", "'S", "’s"});
      }
      s += pick({".", "!", "?", "...", ".\n", ".\n\n", ".\r\n", "?!", ". ", ".\t"});
      if (below(6) == 0) s += "\n";
    }
    return s;
  }

  std::string json_string() {
    std::string s = "\"";
    const std::size_t n = below(6);
    for (std::size_t i = 0; i < n; ++i) {
      switch (below(6)) {
        case 0:
          s += word();
          break;
        case 1:
          s += "\\n\\t\\\"";
          break;
        case 2:
          put_range(s, 0x4E00, 0x9FFF, 1 + below(6));
          break;
        case 3:
          s += "\\u00e9";
          break;
        case 4:
          s += "https://example.com/a/b?c=1&d=" + std::to_string(below(100000));
          break;
        default:
          s += " ";
          s += word();
      }
    }
    return s + "\"";
  }

  std::string json_value(int depth) {
    switch (depth > 3 ? below(4) : below(7)) {
      case 0:
        return std::to_string(next() % 10000000000ULL);
      case 1:
        return std::to_string(below(1000)) + "." + std::to_string(below(100000)) + "e-" +
               std::to_string(below(20));
      case 2:
        return pick({"true", "false", "null", "-17", "0"});
      case 3:
        return json_string();
      case 4: {
        std::string s = "[";
        const std::size_t n = below(8);
        for (std::size_t i = 0; i < n; ++i) s += (i ? "," : "") + json_value(depth + 1);
        return s + "]";
      }
      default: {
        std::string s = "{";
        const std::size_t n = 1 + below(6);
        for (std::size_t i = 0; i < n; ++i) {
          s += i ? "," : "";
          s += "\"" + std::string(pick({"id", "name", "userId", "created_at", "ÄÖÜ", "値", "x"})) +
               std::to_string(i) + "\":" + json_value(depth + 1);
        }
        return s + "}";
      }
    }
  }

  std::string json() {
    std::string s = json_value(0);
    if (below(3) == 0) {  // pretty-printed too: indentation runs and newlines
      std::string p;
      int indent = 0;
      for (char c : s) {
        p += c;
        if (c == '{' || c == '[') ++indent;
        if (c == '}' || c == ']') --indent;
        if (c == ',' || c == '{' || c == '[') p += "\n" + std::string(2 * std::max(indent, 0), ' ');
      }
      s = p;
    }
    return s;
  }

  std::string code() {
    static const char* const kLines[] = {
        "int main(int argc, char** argv) {",
        "  for (std::size_t i = 0; i < n; ++i) total += v[i] * 2;",
        "    return a->b ?: c::d<e>(f, g...);",
        "def fetch(url: str) -> dict[str, Any]:",
        "        self._cache[key] = value  # TODO(someone): expire",
        "// https://github.com/modelcontextprotocol/typescript-sdk/blob/main/src/index.ts",
        "/* block comment */ x = y /= 2; path = \"/usr/local/lib//\";",
        "\tif (x != 0 && y >= 10 || !z) { throw new Error(`bad ${x}`); }",
        "const re = /[a-z]+\\d{2,3}/gu; // regex",
        "SELECT id, name FROM users WHERE created_at > '2024-01-01' ORDER BY id DESC;",
        "#include <vector>",
        "    }",
        "",
        "x = [1, 2, 3]; y = {'a': 1, \"b\": 2}; z = a[1:-1:2]",
        "fn parse<'a>(s: &'a str) -> Result<Vec<u8>, Box<dyn Error>> { Ok(vec![]) }",
        "<div class=\"preview\"><span>&nbsp;&lt;tag&gt;</span></div>",
        "$ ls -la /tmp && echo \"$HOME\" | grep -v '^#' > out.txt 2>&1"};
    std::string s;
    const std::size_t lines = 5 + below(40);
    for (std::size_t i = 0; i < lines; ++i) {
      s += std::string(4 * below(4), ' ');
      s += pick(kLines);
      s += below(10) == 0 ? "   \n" : (below(15) == 0 ? "\r\n" : "\n");
    }
    return s;
  }

  std::string scripts() {
    std::string s;
    const std::size_t parts = 4 + below(20);
    for (std::size_t i = 0; i < parts; ++i) {
      switch (below(12)) {
        case 0:  // Chinese, some long runs (BPE on long pieces)
          put_range(s, 0x4E00, 0x9FFF, 1 + below(below(8) == 0 ? 200 : 20));
          s += pick({"，", "。", "、", "「", "」", "：", " "});
          break;
        case 1:  // Japanese kana and kanji, prolonged sound mark (Lm)
          put_range(s, 0x3041, 0x3096, 1 + below(10));
          put(s, 0x30FC);
          put_range(s, 0x30A1, 0x30FA, 1 + below(10));
          put_range(s, 0x4E00, 0x4FFF, below(4));
          break;
        case 2:  // Korean
          put_range(s, 0xAC00, 0xD7A3, 1 + below(12));
          s += " ";
          break;
        case 3:  // Arabic with harakat (Mn) and Arabic-Indic digits
          for (std::size_t w = 0; w < 1 + below(8); ++w) {
            put_range(s, 0x0627, 0x064A, 2 + below(6));
            if (below(2)) put_range(s, 0x064B, 0x0652, 1);
            s += " ";
          }
          put_range(s, 0x0660, 0x0669, below(6));
          break;
        case 4:  // Cyrillic, mixed case
          put_range(s, 0x0410, 0x042F, 1 + below(3));
          put_range(s, 0x0430, 0x044F, 2 + below(10));
          s += pick({" ", ", ", ". ", "—", "\n"});
          break;
        case 5:  // Devanagari with vowel signs (Mc, Mn)
          put_range(s, 0x0915, 0x0939, 1 + below(5));
          put_range(s, 0x093E, 0x094C, 1);
          put(s, 0x0902);
          s += below(2) ? " " : "। ";
          break;
        case 6:  // Greek and Thai
          put_range(s, 0x0391, 0x03A9, 1);
          put_range(s, 0x03B1, 0x03C9, 2 + below(8));
          s += " ";
          put_range(s, 0x0E01, 0x0E30, 3 + below(10));
          put_range(s, 0x0E31, 0x0E3A, below(2));
          break;
        case 7:  // emoji: plain, skin tones, ZWJ families, flags, keycaps, variation selectors
          s += pick({"😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇯🇵", "1️⃣", "❤️",
                     "🏳️‍🌈", "🤖", "✨✨✨", "👩🏿‍💻"});
          s += below(2) ? " " : "";
          break;
        case 8:  // combining marks on Latin letters, stacked and alone
          s += pick({"e\u0301", "a\u0308\u0304", "Z\u0335\u0321", "\u0301", " \u0301x", "n\u0303o",
                     "\u0300\u0301\u0302 ", "ǅungla", "ʰello", "Hʰ", "ǈ", "ᾈ"});
          break;
        case 9:  // numbers of every kind: fullwidth, superscript, Roman, fractions
          s += pick({"１２３４５", "x²³", "Ⅻ", "½¾", "٣٤٥", "१२३", "⑦⑧", "12345678901234"});
          break;
        case 10:  // unusual spaces and line separators
          s += pick({"\u00A0", "\u3000", "\u2028", "\u2029", "\u200B", "\uFEFF", "\u2003\u2003",
                     "\u1680", "\u0085", " \u00A0 "});
          break;
        default:
          s += word();
          s += " ";
      }
    }
    return s;
  }

  // Random code points from every class the patterns distinguish, in random order: the
  // scanners' backtracking cases (letters after marks, prefixes before upper/lower runs,
  // spaces before symbols, line breaks inside space runs, contractions after any letter).
  std::string soup() {
    static const char32_t kPool[] = {
        'a',    'Z',     'k',     'Q',     '0',    '7',     ' ',     ' ',    '\n',
        '\r',   '\t',    '\'',    '/',     '.',    '!',     '-',     '"',    '{',
        '}',    's',     'S',     't',     'T',    'r',     'e',     'E',    'v',
        'l',    'L',     'm',     'd',     'D',    0x00A0,  0x00E9,  0x00C9, 0x01C5,
        0x02B0, 0x0301,  0x0308,  0x05D0,  0x0627, 0x064B,  0x0660,  0x0915, 0x093E,
        0x0E01, 0x0E31,  0x1F80,  0x1F88,  0x2028, 0x3000,  0x3042,  0x30FC, 0x4E00,
        0xAC00, 0xFF11,  0x00B2,  0x2160,  0x00BD, 0x1F600, 0x1F3FD, 0x200D, 0xFE0F,
        0x20E3, 0xFEFF,  0x0085,  0x000B,  0x000C, 0x200B,  0x2019,  0x0130, 0x0131,
        0x1E9E, 0x10400, 0x10428, 0x1D400, 0x16F0, 0x0488,  0x20DD,  0xE000, 0x10FFFD};
    std::string s;
    const std::size_t n = 50 + below(700);
    for (std::size_t i = 0; i < n; ++i) put(s, pick(kPool));
    return s;
  }

  std::string runs() {
    std::string s = word();
    switch (below(7)) {
      case 0:
        s += std::string(1 + below(600), ' ') + word();
        break;
      case 1:
        s += std::string(1 + below(200), ' ') + "\n" + std::string(below(100), ' ') + "\t\n ";
        break;
      case 2:
        for (std::size_t i = 0, n = 1 + below(1000); i < n; ++i)
          s += static_cast<char>('0' + below(10));
        break;
      case 3:
        s += " " + std::string(1 + below(300), pick({'-', '=', '*', '#', '/', '.'}));
        break;
      case 4:
        s += std::string(1 + below(50), '\n') + std::string(1 + below(50), '\r');
        break;
      case 5:
        for (std::size_t i = 0, n = 1 + below(300); i < n; ++i) s += "\r\n";
        break;
      default:
        put_range(s, 0x4E00, 0x9FFF, 50 + below(150));
    }
    return s;
  }

  std::uint64_t state_;
};

}  // namespace refcache::test
