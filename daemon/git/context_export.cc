#include "git/context_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "git/libgit2.h"
#include "hephy/error.h"

namespace hephy {
namespace {

using git::Owned;

Owned<git_blob, git_blob_free> LookupBlob(git_repository* repo, const git_tree_entry* entry,
                                          const std::string& path) {
  git_blob* blob = nullptr;
  if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) != 0) git::Throw(path);
  return Owned<git_blob, git_blob_free>(blob);
}

void WriteFile(const std::filesystem::path& file, const git_blob* blob, mode_t mode) {
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) throw Error(file.string() + ": cannot write: " + std::strerror(errno));
  const char* data = static_cast<const char*>(git_blob_rawcontent(blob));
  size_t left = git_blob_rawsize(blob);
  while (left > 0) {
    const ssize_t n = write(fd, data, left);
    if (n <= 0) {
      close(fd);
      throw Error(file.string() + ": cannot write: " + std::strerror(errno));
    }
    data += n;
    left -= n;
  }
  fchmod(fd, mode);  // whatever the umask
  close(fd);
}

// Directories get 0755 whatever hephyd's umask: the builder copies modes
// into the image.
void MakeDirectory(const std::filesystem::path& dir) {
  if (mkdir(dir.c_str(), 0755) != 0 || chmod(dir.c_str(), 0755) != 0) {
    throw Error(dir.string() + ": cannot create directory: " + std::strerror(errno));
  }
}

struct Exporter {
  git_repository* repo;
  std::filesystem::path root;
  std::string root_name;  // in errors: "the repository", or the exported directory
  std::vector<std::pair<std::filesystem::path, std::string>> links;  // checked at the end

  void Tree(const git_tree* tree, const std::filesystem::path& dir, const std::string& prefix) {
    for (size_t i = 0; i < git_tree_entrycount(tree); ++i) {
      const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
      const std::string name = git_tree_entry_name(entry);
      const std::string path = prefix + name;
      const auto target = dir / name;
      switch (git_tree_entry_filemode(entry)) {
        case GIT_FILEMODE_TREE: {
          MakeDirectory(target);
          git_tree* sub = nullptr;
          if (git_tree_lookup(&sub, repo, git_tree_entry_id(entry)) != 0) git::Throw(path);
          const Owned<git_tree, git_tree_free> owned(sub);
          Tree(sub, target, path + "/");
          break;
        }
        case GIT_FILEMODE_BLOB:
          WriteFile(target, LookupBlob(repo, entry, path).get(), 0644);
          break;
        case GIT_FILEMODE_BLOB_EXECUTABLE:
          WriteFile(target, LookupBlob(repo, entry, path).get(), 0755);
          break;
        case GIT_FILEMODE_LINK: {
          const auto blob = LookupBlob(repo, entry, path);
          const std::string to(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                               git_blob_rawsize(blob.get()));
          if (to.empty() || to.front() == '/') {
            throw Error(path + ": symbolic link to an absolute path ('" + to + "') is not allowed");
          }
          std::filesystem::create_symlink(to, target);
          links.emplace_back(target, path);
          break;
        }
        case GIT_FILEMODE_COMMIT:
          throw Error(path +
                      ": submodules are not supported; vendor the code or fetch it in the "
                      "Dockerfile");
        default:
          throw Error(path + ": unsupported tree entry");
      }
    }
  }

  // With every file in place, each link is resolved as the kernel (and so
  // the builder) would: through other links, '..' included. A link that
  // ends outside the tree could let a build read the host's files. Its
  // target is resolved rather than the link itself, so that a link to
  // nothing (yet) is judged by where it points, not taken as a file.
  void CheckLinks() const {
    const auto canonical_root = std::filesystem::canonical(root);
    for (const auto& [link, path] : links) {
      std::error_code ec;
      const auto resolved = std::filesystem::weakly_canonical(
          link.parent_path() / std::filesystem::read_symlink(link), ec);
      const auto [end, unused] = std::mismatch(canonical_root.begin(), canonical_root.end(),
                                               resolved.begin(), resolved.end());
      if (ec || end != canonical_root.end()) {
        throw Error(path + ": symbolic link leads outside " + root_name + " ('" +
                    std::filesystem::read_symlink(link).string() + "')");
      }
    }
  }
};

}  // namespace

void ExportTree(git_repository* repo, const std::string& commit_id, const std::string& subdir,
                const std::filesystem::path& dest) {
  git_oid oid;
  git_commit* commit = nullptr;
  if (commit_id.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, commit_id.c_str()) != 0) {
    throw Error("'" + commit_id + "': not a commit id");
  }
  if (git_commit_lookup(&commit, repo, &oid) != 0) git::Throw("commit " + commit_id);
  const Owned<git_commit, git_commit_free> owned_commit(commit);
  git_tree* root = nullptr;
  if (git_commit_tree(&root, commit) != 0) git::Throw("tree of " + commit_id);
  const Owned<git_tree, git_tree_free> owned_root(root);

  // Names as git_tree_entry_bypath takes them: no empty, "." or ".." parts.
  std::string path;
  for (const auto& part : std::filesystem::path(subdir)) {
    if (part.empty() || part == ".") continue;
    if (part == ".." || part == "/") {
      throw Error(subdir + ": not a relative path inside the repository");
    }
    path += (path.empty() ? "" : "/") + part.string();
  }
  const git_tree* tree = root;
  Owned<git_tree, git_tree_free> owned_subtree;
  if (!path.empty()) {
    git_tree_entry* entry = nullptr;
    if (git_tree_entry_bypath(&entry, root, path.c_str()) != 0) {
      throw Error(subdir + ": no such directory in commit " + commit_id);
    }
    const Owned<git_tree_entry, git_tree_entry_free> owned_entry(entry);
    if (git_tree_entry_type(entry) != GIT_OBJECT_TREE) {
      throw Error(subdir + ": not a directory in commit " + commit_id);
    }
    git_tree* sub = nullptr;
    if (git_tree_lookup(&sub, repo, git_tree_entry_id(entry)) != 0) git::Throw(subdir);
    owned_subtree.reset(sub);
    tree = sub;
  }

  MakeDirectory(dest);
  std::error_code ec;
  try {
    Exporter exporter{repo, dest, path.empty() ? "the repository" : "'" + path + "'", {}};
    exporter.Tree(tree, dest, path.empty() ? "" : path + "/");
    exporter.CheckLinks();
  } catch (...) {
    std::filesystem::remove_all(dest, ec);
    throw;
  }
}

void ExportTree(const QuarantineRepo& repo, const std::string& commit_id,
                const std::filesystem::path& dest) {
  ExportTree(repo.get(), commit_id, "", dest);
}

}  // namespace hephy
