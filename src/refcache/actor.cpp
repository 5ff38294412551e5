#include "refcache/actor.hpp"

namespace refcache {

std::string_view to_string(ActorType t) {
  switch (t) {
    case ActorType::kUser:
      return "user";
    case ActorType::kAgent:
      return "agent";
    case ActorType::kSystem:
      return "system";
  }
  return "unknown";
}

Actor Actor::user(std::optional<std::string> id, std::optional<std::string> session) {
  return Actor{ActorType::kUser, std::move(id), std::move(session)};
}
Actor Actor::agent(std::optional<std::string> id, std::optional<std::string> session) {
  return Actor{ActorType::kAgent, std::move(id), std::move(session)};
}
Actor Actor::system() {
  return Actor{ActorType::kSystem, std::string("internal"), std::nullopt};
}

Actor Actor::from_literal(std::string_view literal, std::optional<std::string> session) {
  return Actor{literal == "user" ? ActorType::kUser : ActorType::kAgent, std::nullopt,
               std::move(session)};
}

std::string Actor::to_string() const {
  std::string out(refcache::to_string(type));
  out += ':';
  out += id ? *id : "*";
  return out;
}

bool Actor::matches(std::string_view pattern) const {
  auto colon = pattern.find(':');
  if (colon == std::string_view::npos) return false;
  if (pattern.substr(0, colon) != refcache::to_string(type)) return false;
  std::string_view id_pattern = pattern.substr(colon + 1);
  if (id_pattern == "*") return true;  // includes anonymous actors
  if (!id) return false;
  return glob_match(id_pattern, *id);
}

namespace {

// Matches one bracket expression starting at pattern[pi] == '['. Sets `next` to the index
// after the closing ']' and `matched`. Returns false if the bracket is unterminated (then the
// '[' is a literal character, as in fnmatch).
bool match_bracket(std::string_view p, std::size_t pi, char c, std::size_t& next, bool& matched) {
  std::size_t i = pi + 1;
  bool negate = false;
  if (i < p.size() && p[i] == '!') {
    negate = true;
    ++i;
  }
  std::size_t start = i;
  bool found = false;
  // A ']' right after '[' or '[!' belongs to the set.
  while (i < p.size() && (p[i] != ']' || i == start)) {
    if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      if (p[i] <= c && c <= p[i + 2]) found = true;
      i += 3;
    } else {
      if (p[i] == c) found = true;
      ++i;
    }
  }
  if (i >= p.size()) return false;  // unterminated
  next = i + 1;
  matched = (found != negate);
  return true;
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative matcher with backtracking to the last '*'.
  std::size_t pi = 0, ti = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        star_p = pi++;
        star_t = ti;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++ti;
        continue;
      }
      if (pc == '[') {
        std::size_t next = 0;
        bool matched = false;
        if (match_bracket(p, pi, t[ti], next, matched)) {
          if (matched) {
            pi = next;
            ++ti;
            continue;
          }
        } else if (t[ti] == '[') {
          ++pi;
          ++ti;
          continue;
        }
      } else if (pc == t[ti]) {
        ++pi;
        ++ti;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    ti = ++star_t;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace refcache
