// The client's stdio transport: spawning the server (posix_spawnp, close-on-exec pipes), its stdin
// written by send() on the caller's thread when the pipe takes a message at once and otherwise by
// a writer thread, one I/O thread for its stdout, its stderr and its exit (a pidfd where
// the kernel has them), and the graceful shutdown of close().
#include "mcp/client_stdio.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <thread>
#include <utility>

#include "client_log.hpp"
#include "thread_annotations.hpp"

extern char** environ;

namespace mcp {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long the I/O thread waits for the exit of a child that closed its stdout, so that the
// reason names the exit status; and how long it keeps reading a dead child's pipes (which a
// grandchild may still hold open).
constexpr milliseconds kExitAfterEof{1000};
constexpr milliseconds kDrainAfterExit{200};

std::string exit_text(int status) {
  if (WIFEXITED(status))
    return "server process exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return "server process was killed by signal " + std::to_string(sig) +
           (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
  }
  return "server process ended (wait status " + std::to_string(status) + ")";
}

std::string errno_text(int err) {
  char buf[128];
  return strerror_r(err, buf, sizeof buf);
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  // Close-on-exec by definition (pidfd_open(2)).
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// One non-blocking write(2) on the calling thread, whose SIGPIPE (the child closed its stdin)
// must not kill the program: SIGPIPE is blocked for the call, and one it raised is taken back
// before the mask is restored. Returns write()'s result, errno as write() left it.
ssize_t write_without_sigpipe(int fd, std::string_view s) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  ssize_t n;
  do {
    n = ::write(fd, s.data(), s.size());
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  if (n < 0 && err == EPIPE && !sigismember(&old, SIGPIPE)) {
    const timespec zero{};
    while (::sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return n;
}

}  // namespace

// One life of the child process: its descriptors, its threads and their shared state.
// start() after closed() makes a new one.
struct StdioRun {
  StdioClientOptions opt;
  ClientTransportCallbacks cb;
  std::string name;  // for log lines
  pid_t pid = -1;
  // Our end of the child's stdin (non-blocking): written under `mu` by send() while nothing is
  // queued, else by the writer thread; closed under `mu` by the writer thread.
  int in_fd = -1;
  int out_fd = -1;  // our ends of stdout and stderr, and the pidfd: the I/O thread's
  int err_fd = -1;
  int pidfd = -1;

  refcache_sync::Mutex mu;
  std::condition_variable cv;  // queue, closing, writer_done, reaped changed
  std::deque<std::string> queue GUARDED_BY(mu);
  std::size_t queued_bytes GUARDED_BY(mu) = 0;
  bool closing GUARDED_BY(mu) = false;  // close() began: the writer drains, then closes stdin
  bool writer_done GUARDED_BY(mu) = false;
  bool writer_busy GUARDED_BY(mu) = false;  // the writer thread writes a message it dequeued
  bool reaped GUARDED_BY(mu) = false;       // waitpid() collected the child: its pid is not ours
  int status GUARDED_BY(mu) = 0;
  // Set when closed() is delivered (or about to be): send() fails with it from then on.
  std::string closed_reason GUARDED_BY(mu);
  std::atomic<bool> abort_writes{false};  // the writer gives up on what is still queued
  std::thread writer;
  std::thread io;

  void write_loop();
  void io_loop();
  // Writes all of `s` to the non-blocking stdin; false when the child is gone or writes were
  // aborted.
  bool write_all(std::string_view s);
  // Collects the child if it has exited; true once it has.
  bool try_reap();
  // Signals the child unless it was reaped already (its pid may then name another process).
  void signal_child(int sig);
};

void StdioRun::write_loop() {
  // A write to a pipe whose reader exited raises SIGPIPE, which would kill the program: this
  // thread does all the writing, and with SIGPIPE blocked here write() fails with EPIPE.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  for (;;) {
    std::string msg;
    {
      refcache_sync::UniqueLock lk(mu);
      while (queue.empty() && !closing) cv.wait(lk.native());
      if (queue.empty() || abort_writes.load()) break;
      msg = std::move(queue.front());
      queue.pop_front();
      queued_bytes -= msg.size();
      writer_busy = true;
    }
    const bool ok = write_all(msg);
    refcache_sync::Lock lk(mu);
    writer_busy = false;
    if (!ok) break;
  }
  {
    refcache_sync::Lock lk(mu);
    close_fd(in_fd);  // EOF on the child's stdin: the first step of a graceful shutdown
    writer_done = true;
    queue.clear();
    queued_bytes = 0;
  }
  cv.notify_all();
}

bool StdioRun::write_all(std::string_view s) {
  while (!s.empty()) {
    if (abort_writes.load()) return false;
    ssize_t n = ::write(in_fd, s.data(), s.size());
    if (n >= 0) {
      s.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // The child is not reading: wait for room, looking at abort_writes now and then.
      pollfd p{in_fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    if (errno != EPIPE)
      detail::client_log().warn("[{}] cannot write to the server's stdin: {}", name,
                                errno_text(errno));
    return false;
  }
  return true;
}

bool StdioRun::try_reap() {
  refcache_sync::Lock lk(mu);
  if (reaped) return true;
  int st = 0;
  pid_t r = ::waitpid(pid, &st, WNOHANG);
  if (r == pid || (r < 0 && errno == ECHILD)) {
    reaped = true;
    status = r == pid ? st : 0;
  }
  if (reaped) cv.notify_all();
  return reaped;
}

void StdioRun::signal_child(int sig) {
  refcache_sync::Lock lk(mu);
  if (!reaped) ::kill(pid, sig);
}

void StdioRun::io_loop() {
  std::string line;      // the stdout line being read
  std::string err_line;  // the stderr line being read
  std::vector<char> chunk(std::size_t{64} * 1024);
  bool out_open = true, err_open = true, exited = false, delivered = false;
  bool discarding_err = false;
  Clock::time_point eof_at{}, exit_at{};
  std::string reason;  // why the connection closed, once known

  auto deliver_closed = [&](const std::string& why) {
    if (delivered) return;
    delivered = true;
    bool by_client;
    {
      refcache_sync::Lock lk(mu);
      by_client = closing;
      closed_reason = by_client ? "closed by the client" : why;
    }
    // The reason the client reads: the client's own close() says so; otherwise what happened.
    cb.closed(by_client ? "closed by the client" : why);
  };
  auto on_line = [&](std::string_view l) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) return;
    if (!delivered) cb.message(std::string(l));
  };
  // A line gathered over several reads is handed on as it is, not copied, and `line` is left
  // without its room: one large result must not keep its size allocated for the transport's
  // life.
  auto on_gathered_line = [&] {
    std::string l = std::exchange(line, std::string());
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.find_first_not_of(" \t") == std::string::npos) return;
    if (!delivered) cb.message(std::move(l));
  };
  auto log_err = [&](std::string_view l) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    detail::client_log().info("[{}] {}", name, l);
  };

  while (!(exited && delivered)) {
    // What to wait for, and until when.
    pollfd fds[3];
    int n = 0, out_i = -1, err_i = -1, pid_i = -1;
    if (out_open) {
      out_i = n;
      fds[n++] = {out_fd, POLLIN, 0};
    }
    if (err_open) {
      err_i = n;
      fds[n++] = {err_fd, POLLIN, 0};
    }
    if (!exited && pidfd >= 0) {
      pid_i = n;
      fds[n++] = {pidfd, POLLIN, 0};
    }
    int timeout = -1;
    auto now = Clock::now();
    auto until = [&](Clock::time_point t) {
      auto ms = std::chrono::duration_cast<milliseconds>(t - now).count();
      int v = static_cast<int>(std::max<std::int64_t>(0, ms)) + 1;
      timeout = timeout < 0 ? v : std::min(timeout, v);
    };
    if (pidfd < 0 && !exited) until(now + milliseconds(100));  // no pidfd: look now and then
    if (!out_open && !exited && !delivered) until(eof_at + kExitAfterEof);
    if (exited && (out_open || err_open)) until(exit_at + kDrainAfterExit);

    int r = ::poll(fds, static_cast<nfds_t>(n), timeout);
    if (r < 0 && errno != EINTR) {
      detail::client_log().error("[{}] poll failed: {}", name, errno_text(errno));
      std::this_thread::sleep_for(milliseconds(10));
    }
    now = Clock::now();

    if (out_i >= 0 && r > 0 && fds[out_i].revents) {
      ssize_t k = ::read(out_fd, chunk.data(), chunk.size());
      if (k > 0) {
        std::string_view data(chunk.data(), static_cast<std::size_t>(k));
        while (!data.empty()) {
          auto nl = data.find('\n');
          std::string_view part = data.substr(0, nl);
          if (line.size() + part.size() > opt.max_line_bytes) {
            // Memory stays bounded, and the calls fail now rather than at their deadlines.
            deliver_closed("server sent a message longer than " +
                           std::to_string(opt.max_line_bytes) + " bytes");
            line = std::string();
            out_open = false;
            close_fd(out_fd);
            eof_at = now;
            break;
          }
          if (nl == std::string_view::npos) {
            line.append(part);
            break;
          }
          if (line.empty()) {
            on_line(part);
          } else {
            line.append(part);
            on_gathered_line();
          }
          data.remove_prefix(nl + 1);
        }
      } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (!line.empty()) on_gathered_line();  // a last message without its newline
        out_open = false;
        close_fd(out_fd);
        eof_at = now;
      }
    }
    if (err_i >= 0 && r > 0 && fds[err_i].revents) {
      ssize_t k = ::read(err_fd, chunk.data(), chunk.size());
      if (k > 0) {
        std::string_view data(chunk.data(), static_cast<std::size_t>(k));
        while (!data.empty()) {
          auto nl = data.find('\n');
          std::string_view part = data.substr(0, nl);
          if (discarding_err) {
            if (nl == std::string_view::npos) break;
            discarding_err = false;
          } else if (err_line.size() + part.size() > opt.max_stderr_line_bytes) {
            err_line.append(part.substr(0, opt.max_stderr_line_bytes - err_line.size()));
            log_err(err_line + " [...]");
            err_line.clear();
            discarding_err = nl == std::string_view::npos;
          } else if (nl == std::string_view::npos) {
            err_line.append(part);
          } else {
            err_line.append(part);
            log_err(err_line);
            err_line.clear();
          }
          if (nl == std::string_view::npos) break;
          data.remove_prefix(nl + 1);
        }
      } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (!err_line.empty()) log_err(err_line);
        err_line.clear();
        err_open = false;
        close_fd(err_fd);
      }
    }
    if (!exited && (pidfd < 0 || (pid_i >= 0 && r > 0 && fds[pid_i].revents) || !out_open)) {
      if (try_reap()) {
        exited = true;
        exit_at = now;
        refcache_sync::Lock lk(mu);
        reason = exit_text(status);
      }
    }
    // The connection is over once the child is gone and its output read (or a dead child's
    // pipes stay silent), or when a living child closed its stdout.
    if (!delivered) {
      if (exited && (!out_open || now >= exit_at + kDrainAfterExit)) {
        deliver_closed(reason);
      } else if (!out_open && !exited && now >= eof_at + kExitAfterEof) {
        deliver_closed("server process closed its standard output");
      }
    }
    if (exited && delivered && (out_open || err_open) && now >= exit_at + kDrainAfterExit) break;
  }
  close_fd(out_fd);
  close_fd(err_fd);
  close_fd(pidfd);
}

struct StdioClientTransport::Impl {
  StdioClientOptions opt;
  mutable refcache_sync::Mutex mu;
  std::shared_ptr<StdioRun> run GUARDED_BY(mu);

  std::shared_ptr<StdioRun> current() const {
    refcache_sync::Lock lk(mu);
    return run;
  }
  // Ends `r`: its stdin, then its process (gracefully, then not), then its threads.
  void shutdown(StdioRun& r) const;
};

void StdioClientTransport::Impl::shutdown(StdioRun& r) const {
  const auto grace = opt.grace;
  {
    refcache_sync::Lock lk(r.mu);
    r.closing = true;
  }
  r.cv.notify_all();
  // 1. What is queued goes out, then the child's stdin closes (the writer closes it).
  {
    const auto deadline = Clock::now() + grace;
    refcache_sync::UniqueLock lk(r.mu);
    while (!r.writer_done && r.cv.wait_until(lk.native(), deadline) == std::cv_status::no_timeout) {
    }
  }
  r.abort_writes.store(true);
  r.cv.notify_all();
  if (r.writer.joinable()) r.writer.join();
  // 2. A server exits on EOF; one that does not gets SIGTERM, then SIGKILL.
  auto wait_reaped = [&](milliseconds d) {
    auto deadline = Clock::now() + d;
    for (;;) {
      {
        refcache_sync::UniqueLock lk(r.mu);
        if (r.reaped) return true;
        r.cv.wait_for(lk.native(), milliseconds(20));
        if (r.reaped) return true;
      }
      if (Clock::now() >= deadline) return false;
    }
  };
  if (!wait_reaped(grace)) {
    r.signal_child(SIGTERM);
    if (!wait_reaped(grace)) {
      detail::client_log().warn("[{}] the server did not stop on SIGTERM; killing it", r.name);
      r.signal_child(SIGKILL);
      if (!wait_reaped(milliseconds(10000)))
        detail::client_log().error("[{}] the server process {} survives SIGKILL", r.name, r.pid);
    }
  }
  // 3. The I/O thread delivers closed() and ends once the child is reaped.
  if (r.io.joinable()) r.io.join();
}

StdioClientTransport::StdioClientTransport(StdioClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
}

StdioClientTransport::~StdioClientTransport() {
  close();
}

void StdioClientTransport::start(ClientTransportCallbacks callbacks) {
  if (auto previous = impl_->current()) impl_->shutdown(*previous);
  const auto& opt = impl_->opt;
  if (opt.command.empty())
    throw ClientError(ClientError::Kind::kTransportClosed, "stdio transport: no command given");
  auto r = std::make_shared<StdioRun>();
  r->opt = opt;
  r->cb = std::move(callbacks);
  r->name = opt.log_name;
  if (r->name.empty()) {
    auto slash = opt.command.find_last_of('/');
    r->name = slash == std::string::npos ? opt.command : opt.command.substr(slash + 1);
  }

  int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
  auto fail = [&](const std::string& what, int err) {
    for (int* p : {in_p, out_p, err_p}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
    throw ClientError(
        ClientError::Kind::kTransportClosed,
        "cannot start server '" + opt.command + "': " + what + ": " + errno_text(err));
  };
  if (::pipe2(in_p, O_CLOEXEC) != 0 || ::pipe2(out_p, O_CLOEXEC) != 0 ||
      ::pipe2(err_p, O_CLOEXEC) != 0)
    fail("pipe", errno);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  // dup2 clears close-on-exec on the copies; every other descriptor of ours stays closed in
  // the child.
  posix_spawn_file_actions_adddup2(&fa, in_p[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_p[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_p[1], 2);
  if (!opt.working_directory.empty())
    posix_spawn_file_actions_addchdir_np(&fa, opt.working_directory.c_str());
  // The child starts with no signal blocked and default dispositions, whatever this
  // program's threads have set (the writer blocks SIGPIPE; a program may ignore it).
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_s{opt.command};
  argv_s.insert(argv_s.end(), opt.args.begin(), opt.args.end());
  std::vector<char*> argv;
  argv.reserve(argv_s.size() + 1);
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  if (opt.inherit_environment)
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      auto eq = kv.find('=');
      if (eq != std::string_view::npos && opt.env.count(std::string(kv.substr(0, eq)))) continue;
      env_s.emplace_back(kv);
    }
  for (const auto& [k, v] : opt.env) {
    std::string kv = k;
    kv += '=';
    kv += v;
    env_s.push_back(std::move(kv));
  }
  std::vector<char*> envp;
  envp.reserve(env_s.size() + 1);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, opt.command.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) fail("spawn", rc);

  close_fd(in_p[0]);
  close_fd(out_p[1]);
  close_fd(err_p[1]);
  r->pid = pid;
  r->in_fd = in_p[1];
  r->out_fd = out_p[0];
  r->err_fd = err_p[0];
  set_nonblocking(r->in_fd);
  set_nonblocking(r->out_fd);
  set_nonblocking(r->err_fd);
  r->pidfd = open_pidfd(pid);
  detail::client_log().debug("[{}] started (pid {})", r->name, pid);
  r->writer = std::thread([p = r.get()] { p->write_loop(); });
  r->io = std::thread([p = r.get()] { p->io_loop(); });
  refcache_sync::Lock lk(impl_->mu);
  impl_->run = std::move(r);
}

void StdioClientTransport::send(OutgoingMessage message) {
  auto r = impl_->current();
  if (!r) throw ClientError(ClientError::Kind::kNotConnected, "stdio transport not started");
  std::string text = std::move(message.text);
  text.push_back('\n');
  {
    refcache_sync::Lock lk(r->mu);
    if (!r->closed_reason.empty())
      throw ClientError(ClientError::Kind::kTransportClosed, r->closed_reason);
    if (r->closing) throw ClientError(ClientError::Kind::kTransportClosed, "closed by the client");
    // The child stopped reading its stdin (it is exiting): the message is dropped like those
    // queued when the writer stopped, and closed() follows with the reason, failing the call.
    if (r->writer_done) return;
    if (r->queued_bytes + text.size() > impl_->opt.max_queued_bytes && !r->queue.empty())
      throw ClientError(ClientError::Kind::kBusy,
                        "the server is not reading its stdin: " + std::to_string(r->queued_bytes) +
                            " bytes wait to be written");
    if (r->queue.empty() && !r->writer_busy) {
      // Nothing waits before this message: the caller writes it itself, sparing a hand-off to
      // the writer thread. The write does not block; what the pipe does not take at once (or an
      // error, which the writer reports and acts on) goes to the writer thread.
      const ssize_t n = write_without_sigpipe(r->in_fd, text);
      if (n == static_cast<ssize_t>(text.size())) return;
      if (n > 0) text.erase(0, static_cast<std::size_t>(n));
    }
    r->queued_bytes += text.size();
    r->queue.push_back(std::move(text));
  }
  r->cv.notify_all();
}

void StdioClientTransport::close() {
  if (auto r = impl_->current()) impl_->shutdown(*r);
}

std::string StdioClientTransport::describe() const {
  std::string s = "stdio: " + impl_->opt.command;
  for (const auto& a : impl_->opt.args) s += " " + a;
  if (auto r = impl_->current()) s += " (pid " + std::to_string(r->pid) + ")";
  return s;
}

int StdioClientTransport::pid() const {
  auto r = impl_->current();
  if (!r) return -1;
  refcache_sync::Lock lk(r->mu);
  return r->reaped ? -1 : r->pid;
}

}  // namespace mcp
