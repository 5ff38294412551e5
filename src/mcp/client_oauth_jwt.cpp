// private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect Core §9): a short-lived
// JWT signed with the client's private key (ES256 or RS256) stands for the client secret.
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <memory>

#include "client_oauth_internal.hpp"
#include "crypto.hpp"
#include "mcp/client_error.hpp"

namespace mcp::oauth {

namespace {

using Kind = ClientError::Kind;

[[noreturn]] void fail(const std::string& why) {
  throw ClientError(Kind::kAuthorization, "OAuth: private_key_jwt: " + why);
}

// A DER ECDSA signature as JWS wants it (RFC 7518 §3.4): r and s, each `half` bytes.
std::string raw_ecdsa(const std::string& der, int half) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), &ECDSA_SIG_free);
  if (!sig) fail("cannot decode the ECDSA signature");
  std::string out(static_cast<std::size_t>(half) * 2, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, half) != half ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + half, half) != half)
    fail("cannot encode the ECDSA signature");
  return out;
}

}  // namespace

std::string client_assertion(const std::string& key_pem, const std::string& alg,
                             const std::string& client_id, const std::string& audience) {
  if (alg != "ES256" && alg != "RS256") fail("unsupported signing algorithm '" + alg + "'");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr,
      &EVP_PKEY_free);
  if (!key) fail("cannot read the private key (PEM)");
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  boost::json::object header{{"alg", alg}, {"typ", "JWT"}};
  boost::json::object claims{{"iss", client_id}, {"sub", client_id},
                             {"aud", audience},  {"iat", now},
                             {"exp", now + 300}, {"jti", crypto::random_hex(16)}};
  const std::string input = crypto::base64url_encode(boost::json::serialize(header)) + "." +
                            crypto::base64url_encode(boost::json::serialize(claims));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    fail("cannot sign with the key (does it match " + alg + "?)");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    fail("signing failed");
  sig.resize(len);
  if (alg == "ES256") {
    if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_EC) fail("ES256 needs an EC P-256 key");
    sig = raw_ecdsa(sig, 32);
  } else if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    fail("RS256 needs an RSA key");
  }
  return input + "." + crypto::base64url_encode(sig);
}

}  // namespace mcp::oauth
