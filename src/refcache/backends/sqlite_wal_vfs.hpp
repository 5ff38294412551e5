// A SQLite VFS that writes each transaction's WAL frames with one system call.
//
// SQLite's WAL writer issues two pwrite()s per page it commits (the 24-byte frame header,
// then the page), so a 1 KB set, which changes four or five pages (the table leaf, the
// primary-key index, the namespace and expiry indexes, and page 1 when the file grows), costs
// eight to fourteen system calls for its frames alone. On hosts where a system call is dear
// (virtual machines with paravirtualized page tables), those calls were most of a set's time.
//
// This VFS wraps the default one and changes one thing: writes to a "-wal" file that follow
// one another in the file are gathered in a buffer and written together. The buffer is
// written, and any error returned, by the write that completes a commit frame (a frame
// header whose "database size after commit" field is non-zero, then its page): before SQLite
// publishes the transaction in the shared WAL index, so other connections and processes
// never see a frame that is not in the file. Every other operation on the file (read, size,
// truncate, sync, lock, close) first writes what is buffered, so the file always reads as if
// nothing were buffered. A crash loses at most the frames of a transaction that had not
// committed, as it would without the buffer. After a commit's frames are written, the log's
// writes go straight through until the connection's next write transaction, so that a
// write SQLite makes after the commit frame (rewritten checksums) is never still buffered
// when the commit is published, where an error could not be reported.
#pragma once

namespace refcache::detail {

// The name of the VFS, registered with SQLite on the first call (thread-safe), wrapping the
// default VFS. Pass it to sqlite3_open_v2().
const char* coalescing_wal_vfs();

}  // namespace refcache::detail
