// A shared library opened with dlopen(), closed when the handle goes.
#pragma once

#include <dlfcn.h>

#include <memory>
#include <string>

namespace vigil::service {

class SharedLibrary {
 public:
  // Loads the library at `path` with all its symbols resolved now. Its code is never unmapped
  // (RTLD_NODELETE): threads it started (libtorch's pools) may outlive the handle until exit.
  // Throws std::runtime_error with dlerror()'s text when it cannot be loaded.
  explicit SharedLibrary(const std::string& path);

  // The address of the exported symbol `name`, cast to T (a function pointer type).
  // Throws std::runtime_error when the library does not export it.
  template <typename T>
  T symbol(const std::string& name) const {
    return reinterpret_cast<T>(find(name));
  }

  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(void* handle) const { dlclose(handle); }
  };

  void* find(const std::string& name) const;

  std::string path_;
  std::unique_ptr<void, Closer> handle_;
};

}  // namespace vigil::service
