// Owner-only files and folders for stores on disk (the SQLite cache file).
//
// The cache holds every value its servers store, so the folders and files refcache creates
// for it are the owner's alone: folders 0700, files 0600 (the process's umask may make them
// stricter still, never looser). SQLite creates a database's -wal and -shm files with the mode
// of the database file, so a database file created here gives them 0600 too.
//
// make_owner_only() takes the group and other bits off an existing path, for the locations
// that are refcache's own (the default cache folder): it never adds a bit, so a mode that is
// already stricter stays as it is.
//
// Thread-safety: free functions without state; concurrent calls on the same paths are safe
// (creation tolerates another process creating the same path first).
#pragma once

#include <filesystem>
#include <string>

namespace refcache::detail {

// Creates `dir` and its missing parents with mode 0700 (existing ones are left as they are).
// Throws std::filesystem::filesystem_error when a folder cannot be created.
void create_private_folders(const std::filesystem::path& dir);

// Creates `file` empty with mode 0600 unless it exists. Failures are left to whoever opens it
// next (which reports them with its own context): returns false then.
bool create_private_file(const std::filesystem::path& file);

// Takes the group and other permission bits off `path` when it is a folder or regular file
// (not a symlink) owned by this user. Best effort: false when it could not, or there was
// nothing there.
bool make_owner_only(const std::filesystem::path& path);

}  // namespace refcache::detail
