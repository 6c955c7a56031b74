// What the process says when it ends through std::terminate (an exception nobody caught, a
// thread object destroyed while its thread runs): one JSON line on stderr naming the exception,
// if any, followed by the raw stack of the terminating thread, then abort() as before. Without
// it, libstdc++ prints one line ("terminate called without an active exception") that names
// neither the thread nor the place.
#pragma once

namespace vigil::service {

// Installs the report as the std::terminate handler (once, at the start of main).
void install_terminate_report();

}  // namespace vigil::service
