// The person's step of an upstream's OAuth authorization code flow (mcp/client_oauth.hpp):
// the gateway has no browser of its own, so it logs the authorization URL for a person to open,
// and listens on the loopback address of the redirect URI for the browser to come back with
// the code. The listener exists only while a flow waits: it binds before the URL is logged
// (so the browser cannot arrive first), answers every request on its port, takes the first
// one whose path is the redirect URI's, and closes.
//
// The redirect URI must be http:// on a loopback host (127.0.0.1, [::1] or localhost) with a
// port: a browser on the same machine reaches it, nothing else can. A redirect that carries
// an `error` is answered to the browser and ends the flow with that error.
//
// Thread-safety: the returned function may run on any thread; each call listens on its own.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace gateway {

// Checks `redirect_uri` (see above); "" when it is usable, else what is wrong with it.
std::string redirect_uri_problem(const std::string& redirect_uri);

// OAuthClientOptions::open_authorization_url for upstream `upstream`: logs the URL (warning,
// naming the upstream), waits at most `timeout` for the browser, and returns the full URL it
// was redirected to. Throws std::runtime_error on a timeout, a port it cannot listen on, or
// an error the authorization server redirected with.
std::function<std::string(const std::string&)> browser_step(std::string upstream,
                                                            std::string redirect_uri,
                                                            std::chrono::seconds timeout);

// A redirect URI on a loopback port that is free now, for a flow whose client registers
// itself (dynamic registration or a metadata document): http://127.0.0.1:PORT/callback.
std::string free_loopback_redirect_uri();

}  // namespace gateway
