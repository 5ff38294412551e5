// The typed errors of the cache core and its backends.
//
//   Error                      base of everything refcache throws
//   ├─ PermissionDenied        an access-control check failed (reason code + message)
//   ├─ NotFound                unknown, expired or deleted reference
//   ├─ InvalidReference        the opaque resolution error: missing, expired OR forbidden
//   │  └─ PartNotFound         a readable ref's JSON Pointer names nothing (ref_path.hpp)
//   ├─ CircularReference       a ref resolves (transitively) to itself
//   ├─ InvalidArgument         a caller passed a bad value (page < 1, bad URL, ...)
//   │  └─ QuotaExceeded        a set would exceed its principal's quota (RefCacheOptions::quota)
//   └─ BackendError            the storage failed
//      ├─ BackendUnavailable   cannot reach the store (connection refused, timeout, ...)
//      └─ CorruptEntry         one stored entry cannot be decoded; others are unaffected
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "refcache/actor.hpp"
#include "refcache/permission.hpp"

namespace refcache {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reason codes of the reference's checker.
enum class DenialReason {
  kExplicitDeny,        // "explicit_deny"
  kSessionMismatch,     // "session_mismatch"
  kNamespaceOwnership,  // "namespace_ownership"
  kOwnerInsufficient,   // "owner_insufficient"
  kRoleInsufficient,    // "role_insufficient"
};
std::string_view to_string(DenialReason r);

class PermissionDenied : public Error {
 public:
  PermissionDenied(const std::string& message, Actor actor, Permission required,
                   DenialReason reason, std::string ns)
      : Error(message),
        actor_(std::move(actor)),
        required_(required),
        reason_(reason),
        ns_(std::move(ns)) {}
  const Actor& actor() const { return actor_; }
  Permission required() const { return required_; }
  DenialReason reason() const { return reason_; }
  const std::string& ns() const { return ns_; }

 private:
  Actor actor_;
  Permission required_;
  DenialReason reason_;
  std::string ns_;
};

class NotFound : public Error {
 public:
  using Error::Error;
};

// The one text a caller sees when a ref inside its input cannot be used, whatever the cause,
// so that probing cannot tell "exists but forbidden" from "never existed".
inline constexpr const char* kInvalidReferenceText = "Invalid or inaccessible reference";

class InvalidReference : public Error {
 public:
  explicit InvalidReference(std::string ref_id)
      : Error(std::string(kInvalidReferenceText) + ": " + ref_id), ref_id_(std::move(ref_id)) {}
  const std::string& ref_id() const { return ref_id_; }

 protected:
  InvalidReference(std::string ref_id, const std::string& message)
      : Error(message), ref_id_(std::move(ref_id)) {}

 private:
  std::string ref_id_;
};

// A ref path (refcache/ref_path.hpp) whose ref the caller may READ but whose pointer names
// nothing; the message says which token failed. A caller without READ gets the plain,
// opaque InvalidReference instead, which says nothing about the value.
class PartNotFound : public InvalidReference {
 public:
  PartNotFound(std::string ref_path, const std::string& message)
      : InvalidReference(std::move(ref_path), message) {}
};

class CircularReference : public Error {
 public:
  CircularReference(std::string ref_id, std::vector<std::string> chain);
  const std::string& ref_id() const { return ref_id_; }
  const std::vector<std::string>& chain() const { return chain_; }

 private:
  std::string ref_id_;
  std::vector<std::string> chain_;
};

class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A set refused by the per-principal quota (RefCacheOptions::quota): a value larger than
// max_bytes on its own, or, when the quota refuses instead of evicting, a principal already
// at its limit. The message names the limit and the figures, never the value. An
// InvalidArgument, so tool layers answer it as a tool error the caller can act on.
class QuotaExceeded : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

// The caller cancelled the call, or its deadline passed, before it finished.
class Cancelled : public Error {
 public:
  using Error::Error;
};

class BackendError : public Error {
 public:
  using Error::Error;
};

// The store cannot be reached. The message names the backend and address (never a password).
class BackendUnavailable : public BackendError {
 public:
  using BackendError::BackendError;
};

class CorruptEntry : public BackendError {
 public:
  using BackendError::BackendError;
};

}  // namespace refcache
