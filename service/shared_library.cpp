#include "service/shared_library.h"

#include <stdexcept>

namespace vigil::service {
namespace {

std::string last_dl_error() {
  const char* error = dlerror();
  return error != nullptr ? error : "unknown dlopen error";
}

}  // namespace

SharedLibrary::SharedLibrary(const std::string& path)
    : path_(path), handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) {
  if (!handle_) throw std::runtime_error("dlopen: " + last_dl_error());
}

void* SharedLibrary::find(const std::string& name) const {
  dlerror();  // clear a stale error: a symbol's address may legitimately be null
  void* address = dlsym(handle_.get(), name.c_str());
  if (address == nullptr) {
    throw std::runtime_error(path_ + " does not export " + name + ": " + last_dl_error());
  }
  return address;
}

}  // namespace vigil::service
