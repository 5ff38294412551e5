#include "http_stream.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "asio_coroutines.hpp"  // a GCC false positive off: see there
#include "crypto.hpp"
#include "http_response.hpp"

namespace mcp::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using refcache_sync::Lock;

HttpStream::HttpStream(const asio::any_io_executor& executor, Kind kind, bool json_only)
    : kind_(kind), json_only_(json_only), timer_(executor) {}

bool HttpStream::send(std::string text) {
  {
    Lock lk(mu_);
    if (closed_ || json_only_) return false;
    events_.push_back(std::move(text));
  }
  wake();
  return true;
}

void HttpStream::respond(std::string text, int status) {
  if (kind_ != Kind::kPost) {
    send(std::move(text));
    return;
  }
  {
    Lock lk(mu_);
    if (closed_ || has_final_) return;
    final_ = std::move(text);
    status_ = status;
    has_final_ = true;
  }
  wake();
}

void HttpStream::accepted() {
  {
    Lock lk(mu_);
    accepted_ = true;
  }
  wake();
}

void HttpStream::abandon() {
  {
    Lock lk(mu_);
    abandoned_ = true;
  }
  wake();
}

bool HttpStream::is_open() const {
  Lock lk(mu_);
  return !closed_;
}

void HttpStream::on_peer_closed(std::function<void()> fn) {
  if (kind_ != Kind::kPost) return;
  {
    Lock lk(mu_);
    if (!closed_) {
      close_cbs_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void HttpStream::close_stream() {
  {
    Lock lk(mu_);
    close_requested_ = true;
  }
  wake();
}

void HttpStream::peer_closed() {
  std::vector<std::function<void()>> cbs;
  {
    Lock lk(mu_);
    if (closed_) return;
    closed_ = true;
    cbs.swap(close_cbs_);
  }
  for (auto& f : cbs) f();
  wake();
}

bool HttpStream::resumable() const {
  Lock lk(mu_);
  return resumable_;
}

void HttpStream::connection_lost(std::uint64_t gen) {
  {
    Lock lk(mu_);
    if (resumable_ && gen == generation_) attached_ = false;
  }
  if (!resumable())
    peer_closed();
  else
    wake();
}

bool HttpStream::settled(bool resumable) const {
  Lock lk(mu_);
  return has_final_ || !events_.empty() || accepted_ || abandoned_ || closed_ ||
         (close_requested_ && resumable);
}

HttpStream::FirstAnswer HttpStream::first_answer(bool resumable) {
  FirstAnswer a;
  Lock lk(mu_);
  if (closed_ || (abandoned_ && events_.empty() && !has_final_)) {
    a.kind = FirstAnswer::kGone;
  } else if (accepted_ && events_.empty() && !has_final_) {
    a.kind = FirstAnswer::kAccepted;
  } else if (has_final_ && events_.empty() && !(close_requested_ && resumable)) {
    a.kind = FirstAnswer::kJson;
    a.body = std::move(final_);
    a.status = status_;
  }
  return a;
}

std::uint64_t HttpStream::make_resumable(std::string& out) {
  Lock lk(mu_);
  resumable_ = true;
  stream_id_ = crypto::random_hex(8);
  out += "id: " + stream_id_ + "-0\nretry: 1000\ndata: \n\n";
  return generation_;
}

std::uint64_t HttpStream::reattach() {
  Lock lk(mu_);
  attached_ = true;
  return ++generation_;
}

std::string HttpStream::stream_id() const {
  Lock lk(mu_);
  return stream_id_;
}

HttpStream::Batch HttpStream::take_post_events(std::uint64_t& after_seq, std::uint64_t gen,
                                               std::string& out) {
  Batch b;
  Lock lk(mu_);
  if (resumable_) {
    for (auto& e : events_) history_.emplace_back(next_seq_++, std::move(e));
    events_.clear();
    if (has_final_ && !final_recorded_) {
      history_.emplace_back(next_seq_++, final_);
      final_recorded_ = true;
    }
    for (auto& [seq, text] : history_)
      if (seq > after_seq) {
        out += "id: " + stream_id_ + "-" + std::to_string(seq) + "\ndata: " + text + "\n\n";
        after_seq = seq;
      }
    b.finished = final_recorded_ || abandoned_ || closed_;
    if (!b.finished && (close_requested_ || !attached_ || gen != generation_)) {
      close_requested_ = false;
      b.detach = true;
    }
  } else {
    for (auto& e : events_) out += "data: " + e + "\n\n";
    events_.clear();
    if (has_final_) {
      out += "data: " + final_ + "\n\n";
      b.finished = true;
    }
    if (abandoned_ || closed_) b.finished = true;
  }
  return b;
}

bool HttpStream::take_stream_events(std::string& out) {
  Lock lk(mu_);
  for (auto& e : events_)
    out +=
        kind_ == Kind::kLegacySse ? "event: message\ndata: " + e + "\n\n" : "data: " + e + "\n\n";
  events_.clear();
  return !closed_;
}

void HttpStream::wake() {
  auto self = shared_from_this();
  asio::post(timer_.get_executor(), [self] {
    self->woken_ = true;
    self->timer_.cancel();
  });
}

asio::awaitable<bool> HttpStream::wait_for_wake(std::chrono::steady_clock::duration d) {
  if (woken_) {
    woken_ = false;
    co_return false;
  }
  timer_.expires_after(d);
  auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  woken_ = false;
  co_return !ec;
}

void watch_peer(boost::beast::tcp_stream& stream, const std::shared_ptr<HttpStream>& hs,
                std::uint64_t gen) {
  // The handler must not touch `stream`: its completion can be queued just before the
  // connection ends and destroys the stream. The byte it peeks into is owned by the handler,
  // so it outlives an operation that is cancelled.
  auto peeked = std::make_shared<char>();
  stream.socket().async_receive(asio::buffer(peeked.get(), 1), tcp::socket::message_peek,
                                [hs, gen, peeked](boost::system::error_code ec, std::size_t /*n*/) {
                                  if (ec == asio::error::eof || ec == asio::error::connection_reset)
                                    hs->connection_lost(gen);
                                });
}

asio::awaitable<bool> serve_event_stream(boost::beast::tcp_stream& stream,
                                         std::shared_ptr<HttpStream> hs, std::string head,
                                         std::chrono::seconds keepalive) {
  std::string out = std::move(head);
  watch_peer(stream, hs);
  for (;;) {
    if (!hs->take_stream_events(out)) co_return false;
    if (!out.empty() && !co_await Responder::write_raw(stream, out)) {
      hs->peer_closed();
      co_return false;
    }
    out.clear();
    if (co_await hs->wait_for_wake(keepalive)) out = ": keepalive\n\n";
  }
}

std::shared_ptr<HttpStream> StreamRegistry::open(const asio::any_io_executor& executor,
                                                 HttpStream::Kind kind, bool json_only) {
  auto hs = std::make_shared<HttpStream>(executor, kind, json_only);
  Lock lk(mu_);
  if (alive_.size() >= prune_at_) {
    std::erase_if(alive_, [](const std::weak_ptr<HttpStream>& w) { return w.expired(); });
    prune_at_ = std::max<std::size_t>(64, 2 * alive_.size());
  }
  alive_.push_back(hs);
  return hs;
}

void StreamRegistry::close_all() {
  std::vector<std::shared_ptr<HttpStream>> live;
  {
    Lock lk(mu_);
    for (auto& w : alive_)
      if (auto p = w.lock()) live.push_back(std::move(p));
    alive_.clear();
  }
  for (auto& hs : live) hs->peer_closed();
}

}  // namespace mcp::detail
