// The commands of RedisBackend (see redis_client.hpp).
#include "refcache/backends/redis_client.hpp"

#include "refcache/backends/redis_call.hpp"
#include "refcache/errors.hpp"

namespace refcache::redis_detail {

std::vector<Reply> RedisClient::send(std::string_view bytes, std::size_t n, int hslot) {
  if (router_) {
    if (!tl_background) shared_.counters.commands += n;
    return router_->send(hslot, bytes, n);
  }
  require_time_left(shared_);
  if (!tl_background) shared_.counters.commands += n;
  return pool_->send(bytes, n);
}

Reply RedisClient::command(const std::vector<std::string_view>& args) {
  thread_local std::string out;
  out.clear();
  format_command(out, args);
  return std::move(send(out, 1, router_ ? ClusterRouter::route_slot(args) : -1).front());
}

Reply RedisClient::checked(const std::vector<std::string_view>& args) {
  Reply r = command(args);
  if (r->type == REDIS_REPLY_ERROR) error_reply(r.get(), args.empty() ? "" : args[0]);
  return r;
}

Reply RedisClient::transaction(const std::vector<std::vector<std::string_view>>& cmds) {
  thread_local std::string out;
  out.clear();
  format_command(out, {"MULTI"});
  int hslot = -1;
  for (const auto& c : cmds) {
    format_command(out, c);
    if (router_ && hslot < 0) hslot = ClusterRouter::route_slot(c);
  }
  format_command(out, {"EXEC"});
  auto replies = send(out, cmds.size() + 2, hslot);
  for (auto& r : replies)
    if (r->type == REDIS_REPLY_ERROR) error_reply(r.get(), "transaction");
  Reply exec = std::move(replies.back());
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements != cmds.size())
    error_reply(exec.get(), "transaction aborted");
  return exec;
}

Reply RedisClient::eval(const Script& s, const std::vector<std::string_view>& keys,
                        const std::vector<std::string_view>& argv) {
  std::string nkeys = std::to_string(keys.size());
  std::vector<std::string_view> args;
  args.reserve(3 + keys.size() + argv.size());
  args.emplace_back("EVALSHA");
  args.emplace_back(s.sha);
  args.push_back(nkeys);
  args.insert(args.end(), keys.begin(), keys.end());
  args.insert(args.end(), argv.begin(), argv.end());
  Reply r = command(args);
  if (r->type == REDIS_REPLY_ERROR && reply_text(r.get()).rfind("NOSCRIPT", 0) == 0) {
    args[0] = "EVAL";
    args[1] = s.body;
    r = command(args);
  }
  if (r->type == REDIS_REPLY_ERROR) error_reply(r.get(), "script");
  return r;
}

std::vector<Reply> RedisClient::eval_groups(
    const Script& script,
    const std::function<void(const std::string& prefix, std::vector<std::string>& keys,
                             std::vector<std::string>& argv)>& make) {
  const auto& groups = keys_.groups();
  std::size_t g = groups.size();
  std::vector<std::vector<std::string>> keys(g), argv(g), cmds(g);
  for (std::size_t i = 0; i < g; ++i) {
    make(groups[i], keys[i], argv[i]);
    cmds[i] = {"EVALSHA", script.sha, std::to_string(keys[i].size())};
    cmds[i].insert(cmds[i].end(), keys[i].begin(), keys[i].end());
    cmds[i].insert(cmds[i].end(), argv[i].begin(), argv[i].end());
  }
  return router_->per_group(cmds, [&](std::size_t i) {
    std::vector<std::string_view> k(keys[i].begin(), keys[i].end()),
        a(argv[i].begin(), argv[i].end());
    return eval(script, k, a);
  });
}

std::vector<Reply> RedisClient::checked_groups(const std::vector<std::vector<std::string>>& cmds) {
  return router_->per_group(cmds, [&](std::size_t i) {
    return checked(std::vector<std::string_view>(cmds[i].begin(), cmds[i].end()));
  });
}

void RedisClient::drop_foreign(const redisReply* r, std::size_t head) {
  if (!router_ || !r || r->type != REDIS_REPLY_ARRAY) return;
  for (std::size_t i = head; i + 1 < r->elements; i += 2) {
    std::string b = reply_text(r->element[i]), ref = reply_text(r->element[i + 1]);
    try {
      eval(release_script(), {b}, {ref});
    } catch (const std::exception&) {
    }
  }
}

void RedisClient::error_reply(const redisReply* r, std::string_view what) {
  ++shared_.counters.errors;
  std::string text = reply_text(r);
  if (text.rfind("READONLY", 0) == 0) {
    // We are talking to a replica: after a failover, the old primary. Find the new one.
    if (pool_) pool_->fail_all("the server became a replica (failover)");
    throw BackendUnavailable(shared_.message(text));
  }
  // Commands answer NOPERM; scripts "... can't access at least one of the keys ...".
  if (text.find("NOPERM") != std::string::npos ||
      text.find("can't access at least one of the keys") != std::string::npos ||
      text.find("no permissions to") != std::string::npos)
    throw BackendError(
        shared_.message("permission denied by the server's ACL for user '" +
                        (shared_.opts.user.empty() ? std::string("default") : shared_.opts.user) +
                        "' (keys under '" + keys_.prefix() + "' must be allowed): " + text));
  throw BackendError(shared_.message(std::string(what) + ": " + text));
}

}  // namespace refcache::redis_detail
