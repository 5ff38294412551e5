// Internal: included by the files of the HTTP transport that define Boost.Asio
// coroutines. GCC 12 reports -Wmismatched-new-delete in a coroutine's ramp once it inlines
// Boost.Asio's frame allocator into it (awaitable_frame_base's operator new takes the block
// from aligned_alloc, its own operator delete gives it back): a false positive of GCC's
// pairing heuristic, which comes and goes with inlining (the sanitizer builds' -O1 shows it).
// The warning is off from the include to the end of the including file.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
