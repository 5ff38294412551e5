#include "sequences.hpp"

#include <muParser.h>

#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <vector>

namespace calculator {
namespace json = boost::json;

namespace {

// The character starting at byte `i` of `text` as it can be shown: the whole UTF-8 sequence
// when it is one (so that a message never holds half a character), else its byte in hex.
std::string character_at(const std::string& text, std::size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  std::size_t len = b < 0x80           ? 1
                    : (b >> 5) == 0x6  ? 2
                    : (b >> 4) == 0xE  ? 3
                    : (b >> 3) == 0x1E ? 4
                                       : 0;
  bool whole = len > 0 && i + len <= text.size();
  for (std::size_t k = 1; whole && k < len; ++k)
    whole = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
  if (whole && len > 1) {
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
    std::uint32_t cp = b & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    whole = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
  }
  if (whole && b >= 0x20 && b != 0x7F) return text.substr(i, len);
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[b >> 4] + kHex[b & 0xF];
}

void check_count(int count, int max) {
  if (count < 1 || count > max)
    throw InputError("Count must be between 1 and " + std::to_string(max));
}

// Appends a + b as an exact integer while it fits, else as a double.
json::value add(const json::value& a, const json::value& b) {
  if (a.is_uint64() || a.is_int64()) {
    if (b.is_uint64() || b.is_int64()) {
      std::uint64_t x = a.to_number<std::uint64_t>(), y = b.to_number<std::uint64_t>();
      if (x <= UINT64_MAX - y) return json::value(x + y);
    }
  }
  return json::value(a.to_number<double>() + b.to_number<double>());
}

double factorial(double n) {
  if (n < 0 || n != std::floor(n)) throw mu::ParserError("factorial needs a whole number >= 0");
  return std::tgamma(n + 1);
}
double sum3(const double* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += v[i];
  return s;
}
double min_n(const double* v, int n) {
  double m = v[0];
  for (int i = 1; i < n; ++i) m = std::min(m, v[i]);
  return m;
}
double max_n(const double* v, int n) {
  double m = v[0];
  for (int i = 1; i < n; ++i) m = std::max(m, v[i]);
  return m;
}
double ln(double x) {
  return std::log(x);
}
double log10_(double x) {
  return std::log10(x);
}
double round_(double x) {
  return std::nearbyint(x);
}  // Python rounds half to even
double floor_(double x) {
  return std::floor(x);
}
double ceil_(double x) {
  return std::ceil(x);
}
double pow_(double a, double b) {
  return std::pow(a, b);
}

}  // namespace

json::value primes(int count) {
  check_count(count, 10000);
  // Upper bound on the count-th prime (Rosser): n (ln n + ln ln n) for n >= 6.
  const double n = count;
  const std::size_t limit =
      count < 6 ? 15 : static_cast<std::size_t>(n * (std::log(n) + std::log(std::log(n))) + 2 * n);
  std::vector<bool> composite(limit + 1, false);
  json::array out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::size_t i = 2; i <= limit && out.size() < static_cast<std::size_t>(count); ++i) {
    if (composite[i]) continue;
    out.push_back(static_cast<std::int64_t>(i));
    for (std::size_t j = i * i; j <= limit; j += i) composite[j] = true;
  }
  return out;
}

json::value fibonacci(int count) {
  check_count(count, 1000);
  json::array out;
  out.reserve(static_cast<std::size_t>(count));
  out.push_back(std::int64_t{0});
  if (count > 1) out.push_back(std::int64_t{1});
  while (out.size() < static_cast<std::size_t>(count))
    out.push_back(add(out[out.size() - 2], out[out.size() - 1]));
  return out;
}

json::value sequence(std::string type, int count, std::optional<long long> start,
                     std::optional<long long> step) {
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  check_count(count, 1000);
  json::array out;
  if (type == "fibonacci") return fibonacci(count);
  if (type == "prime") return primes(count);
  if (type == "arithmetic") {
    const double a = static_cast<double>(start.value_or(0)),
                 d = static_cast<double>(step.value_or(1));
    for (int i = 0; i < count; ++i) {
      const double v = a + d * i;
      if (std::abs(v) < 9e15)
        out.push_back(static_cast<std::int64_t>(v));
      else
        out.push_back(v);
    }
    return out;
  }
  if (type == "geometric") {
    double v = static_cast<double>(start.value_or(1));
    const double r = static_cast<double>(step.value_or(2));
    for (int i = 0; i < count; ++i) {
      if (std::abs(v) < 9e15)
        out.push_back(static_cast<std::int64_t>(v));
      else
        out.push_back(v);
      v *= r;
    }
    return out;
  }
  if (type == "triangular") {
    for (std::int64_t n = 1; n <= count; ++n) out.push_back(n * (n + 1) / 2);
    return out;
  }
  if (type == "factorial") {
    json::value f = std::int64_t{1};
    out.push_back(f);
    for (int n = 1; n < count; ++n) {
      if (f.is_int64() && f.get_int64() <= INT64_MAX / n)
        f = f.get_int64() * n;
      else
        f = f.to_number<double>() * n;
      out.push_back(f);
    }
    return out;
  }
  // The type is not quoted back: it may come from a value the caller may use but not read.
  throw InputError(
      "Unknown sequence type. Valid types: fibonacci, prime, arithmetic, geometric, triangular, "
      "factorial");
}

double evaluate(const std::string& expression) {
  for (std::size_t i = 0; i < expression.size(); ++i) {
    const char c = expression[i];
    const bool ok = std::isdigit(static_cast<unsigned char>(c)) ||
                    std::isalpha(static_cast<unsigned char>(c)) ||
                    std::string_view("+-*/.(), _").find(c) != std::string_view::npos;
    if (!ok) throw InputError("Invalid character in expression: " + character_at(expression, i));
  }
  // Python writes powers as **; muparser as ^.
  std::string expr;
  for (std::size_t i = 0; i < expression.size(); ++i) {
    if (expression[i] == '*' && i + 1 < expression.size() && expression[i + 1] == '*') {
      expr += '^';
      ++i;
    } else {
      expr += expression[i];
    }
  }
  try {
    mu::Parser p;
    p.DefineConst("pi", M_PI);
    p.DefineConst("e", M_E);
    p.DefineFun("log", ln);
    p.DefineFun("log10", log10_);
    p.DefineFun("round", round_);
    p.DefineFun("floor", floor_);
    p.DefineFun("ceil", ceil_);
    p.DefineFun("pow", pow_);
    p.DefineFun("factorial", factorial);
    p.DefineFun("sum", sum3);
    p.DefineFun("min", min_n);
    p.DefineFun("max", max_n);
    p.SetExpr(expr);
    double r = p.Eval();
    if (!std::isfinite(r)) throw InputError("Failed to evaluate expression: result is not finite");
    return r;
  } catch (const mu::Parser::exception_type& e) {
    throw InputError("Failed to evaluate expression: " + e.GetMsg());
  }
}

}  // namespace calculator
