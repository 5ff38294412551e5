// Number sequences and expression evaluation of the calculator server, apart from MCP so that
// they can be tested on their own.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace calculator {

// Thrown with the message the agent sees (as the reference's ValueError texts). An
// std::invalid_argument, so that the cached-call layer passes its text on (see
// refcache::CachedCall::call).
struct InputError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The first `count` primes. REQUIRES 1 <= count <= 10000 (else InputError).
boost::json::value primes(int count);
// [0, 1, 1, 2, ...], `count` numbers. REQUIRES 1 <= count <= 1000. Numbers beyond 2^64 are
// given as doubles (JSON numbers cannot be wider here).
boost::json::value fibonacci(int count);
// fibonacci | prime | arithmetic (start 0, step 1) | geometric (start 1, ratio `step` or 2) |
// triangular | factorial (0!, 1!, ...). REQUIRES 1 <= count <= 1000.
boost::json::value sequence(std::string type, int count, std::optional<long long> start,
                            std::optional<long long> step);
// Evaluates an arithmetic expression (muparser) with the reference's functions and constants.
// Throws InputError "Invalid character in expression: X" or "Failed to evaluate expression: ...".
double evaluate(const std::string& expression);

}  // namespace calculator
