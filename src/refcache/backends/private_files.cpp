#include "private_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace refcache::detail {

void create_private_folders(const std::filesystem::path& dir) {
  std::filesystem::path prefix;
  for (const auto& part : dir) {
    prefix /= part;
    if (part == prefix.root_path() || part == prefix.root_name() || part == "." || part == "..")
      continue;
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::filesystem::filesystem_error("cannot create folder", prefix,
                                              std::error_code(errno, std::generic_category()));
  }
  if (!std::filesystem::is_directory(dir))
    throw std::filesystem::filesystem_error("not a folder", dir,
                                            std::make_error_code(std::errc::not_a_directory));
}

bool create_private_file(const std::filesystem::path& file) {
  // O_EXCL: never opens (or follows a symlink to) a file that is there already.
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

bool make_owner_only(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) return false;
  if (st.st_uid != ::geteuid()) return false;
  const mode_t mode = st.st_mode & 07777;
  if ((mode & 077) == 0) return true;
  return ::chmod(path.c_str(), mode & ~mode_t{077}) == 0;
}

}  // namespace refcache::detail
