// M2: Streamable HTTP throughput and latency with wrk (50 keep-alive connections POSTing
// tools/call echo), for the modern era (stateless, 2026-07-28 headers + _meta) and the legacy
// era (one initialized session). The server runs in this process on 127.0.0.1; wrk runs as a
// child with a generated Lua script. Prints one JSON line.
//   mcp_http_bench [--seconds S] [--connections C] [--io-threads N] [--workers N]
//                  [--wrk-threads N] [--only modern|legacy]
// --only runs one era (for profilers); the other prints as null.
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <string>

#include "mcp/http.hpp"
#include "mcp/server.hpp"

namespace {

struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))

namespace http = boost::beast::http;

// One synchronous POST; returns the Mcp-Session-Id header.
std::string post(std::uint16_t port, const std::string& body, const std::string& sid) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::verb::post, "/mcp", 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json, text/event-stream");
  if (!sid.empty()) {
    req.set("Mcp-Session-Id", sid);
    req.set("MCP-Protocol-Version", "2025-11-25");
  }
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  auto it = res.find("Mcp-Session-Id");
  return it == res.end() ? std::string() : std::string(it->value());
}

struct WrkResult {
  double rps = 0, p50_ms = 0, p99_ms = 0;
  long requests = 0, non2xx = 0, errors = 0;
};

double to_ms(const std::string& v, const std::string& unit) {
  double x = std::stod(v);
  if (unit == "us") return x / 1000;
  if (unit == "s") return x * 1000;
  return x;
}

int g_wrk_threads = 1;

WrkResult run_wrk(std::uint16_t port, const std::string& lua, int seconds, int conns) {
  char path[] = "/tmp/mcp_bench_XXXXXX.lua";
  int fd = mkstemps(path, 4);
  if (write(fd, lua.data(), lua.size()) != static_cast<ssize_t>(lua.size())) std::perror("write");
  close(fd);
  std::string cmd = "wrk -t" + std::to_string(g_wrk_threads) + " -c" + std::to_string(conns) +
                    " -d" + std::to_string(seconds) + "s --latency -s " + path +
                    " http://127.0.0.1:" + std::to_string(port) + "/mcp 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  unlink(path);
  WrkResult r;
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([\d.]+))"))) r.rps = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(50%\s+([\d.]+)(us|ms|s))")))
    r.p50_ms = to_ms(m[1], m[2]);
  if (std::regex_search(out, m, std::regex(R"(99%\s+([\d.]+)(us|ms|s))")))
    r.p99_ms = to_ms(m[1], m[2]);
  if (std::regex_search(out, m, std::regex(R"((\d+) requests in)"))) r.requests = std::stol(m[1]);
  if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses:\s+(\d+))")))
    r.non2xx = std::stol(m[1]);
  if (std::regex_search(out, m, std::regex(R"(Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+))")))
    r.errors = std::stol(m[1]) + std::stol(m[2]) + std::stol(m[3]) + std::stol(m[4]);
  return r;
}

std::string lua_script(const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string s = "wrk.method = \"POST\"\nwrk.body = [[" + body + "]]\n";
  s += "wrk.headers[\"Content-Type\"] = \"application/json\"\n";
  s += "wrk.headers[\"Accept\"] = \"application/json, text/event-stream\"\n";
  for (auto& [k, v] : headers) s += "wrk.headers[\"" + k + "\"] = \"" + v + "\"\n";
  return s;
}

void print(const char* name, const WrkResult& r, bool last) {
  std::printf(
      "\"%s\":{\"requests_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"requests\":%ld,\"non_"
      "2xx\":%ld,\"socket_errors\":%ld}%s",
      name, r.rps, r.p50_ms, r.p99_ms, r.requests, r.non2xx, r.errors, last ? "" : ",");
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 10, conns = 50, io_threads = 1, workers = 2;
  std::string only;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--connections")) conns = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--io-threads")) io_threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--workers")) workers = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--wrk-threads")) g_wrk_threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  const bool run_modern = only.empty() || only == "modern";
  const bool run_legacy = only.empty() || only == "legacy";
  mcp::Server server({.info = {.name = "bench", .version = "1"},
                      .worker_threads = static_cast<std::size_t>(workers)});
  server.tool<EchoArgs>({.name = "echo", .description = "Echo"},
                        [](const EchoArgs& a, mcp::ToolContext&) { return a.text; });
  mcp::HttpServer httpd(server, {.io_threads = static_cast<std::size_t>(io_threads)});
  httpd.start();
  std::uint16_t port = httpd.port();

  std::string modern_body =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})";
  WrkResult modern;
  if (run_modern)
    modern = run_wrk(port,
                     lua_script(modern_body, {{"MCP-Protocol-Version", "2026-07-28"},
                                              {"Mcp-Method", "tools/call"},
                                              {"Mcp-Name", "echo"}}),
                     seconds, conns);

  std::string sid = post(
      port,
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})",
      "");
  post(port, R"({"jsonrpc":"2.0","method":"notifications/initialized"})", sid);
  std::string legacy_body =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"}}})";
  WrkResult legacy;
  if (run_legacy)
    legacy = run_wrk(
        port,
        lua_script(legacy_body, {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-11-25"}}),
        seconds, conns);
  httpd.stop();

  std::printf(
      "{\"bench\":\"M2_streamable_http_echo\",\"connections\":%d,\"seconds\":%d,\"io_threads\":%d,"
      "\"workers\":%d,\"wrk_threads\":%d,",
      conns, seconds, io_threads, workers, g_wrk_threads);
  if (run_modern)
    print("modern_stateless", modern, false);
  else
    std::printf("\"modern_stateless\":null,");
  if (run_legacy)
    print("legacy_session", legacy, false);
  else
    std::printf("\"legacy_session\":null,");
  std::printf("\"target_rps\":20000,\"target_p99_ms\":5}\n");
  bool ok = modern.non2xx == 0 && legacy.non2xx == 0 && (!run_modern || modern.requests > 0) &&
            (!run_legacy || legacy.requests > 0);
  return ok ? 0 : 1;
}
