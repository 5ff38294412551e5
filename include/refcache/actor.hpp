// Actor: who is asking. A user, an agent or the system, with an optional id (none means
// anonymous) and an optional session id.
//
// String form "type:id" ("user:alice", "agent:*" for an anonymous agent, "system:internal").
// Patterns in allow/deny lists are "type:glob" where the glob supports *, ?, [seq] and
// [!seq] (fnmatch on POSIX: case-sensitive, * also matches newlines). "type:*" matches
// anonymous actors too; an anonymous actor matches nothing else.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace refcache {

enum class ActorType { kUser, kAgent, kSystem };

std::string_view to_string(ActorType t);

struct Actor {
  ActorType type = ActorType::kAgent;
  std::optional<std::string> id{};  // nullopt = anonymous
  std::optional<std::string> session_id{};

  static Actor user(std::optional<std::string> id = std::nullopt,
                    std::optional<std::string> session = std::nullopt);
  static Actor agent(std::optional<std::string> id = std::nullopt,
                     std::optional<std::string> session = std::nullopt);
  static Actor system();  // id "internal", no session

  // "user" -> anonymous user, anything else -> anonymous agent (the reference's rule).
  static Actor from_literal(std::string_view literal,
                            std::optional<std::string> session = std::nullopt);

  std::string to_string() const;  // "type:id" or "type:*"
  bool matches(std::string_view pattern) const;
  bool is_anonymous() const { return !id.has_value(); }

  bool operator==(const Actor&) const = default;
};

// fnmatch-style glob: *, ?, [seq], [!seq]. Case-sensitive; * matches any characters.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace refcache
