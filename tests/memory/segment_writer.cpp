// memory_segment_writer DIR COUNT PAYLOAD_BYTES SYNC_EVERY SEGMENT_BYTES [FILE_SIZE_LIMIT]
//
// The child process of the segment store's crash and full-disk tests. Appends blocks 0 ..
// COUNT-1 (payload: tests/memory/segment_payload.h) to the store in DIR, syncs after every
// SYNC_EVERY appends and then prints "durable I" (every block <= I is durable), unbuffered, so
// a parent that SIGKILLs it knows what was promised. With FILE_SIZE_LIMIT it first sets
// RLIMIT_FSIZE: on StorageFullError it prints "full I <message>", reads back every block
// appended before, prints "readable N" and exits 3. Exit 0 when all were written.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "memory/segment_store.h"
#include "tests/memory/segment_payload.h"

namespace {

void say(const std::string& line) {
  const std::string text = line + "\n";
  // One write(2) per line: no stdio buffer to lose when killed.
  if (::write(STDOUT_FILENO, text.data(), text.size()) < 0) std::_Exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: %s DIR COUNT PAYLOAD_BYTES SYNC_EVERY SEGMENT_BYTES [FILE_SIZE_LIMIT]\n",
                 argv[0]);
    return 1;
  }
  const std::string directory = argv[1];
  const int64_t count = std::atoll(argv[2]);
  const size_t payload_bytes = static_cast<size_t>(std::atoll(argv[3]));
  const int64_t sync_every = std::atoll(argv[4]);
  vigil::memory::SegmentStoreOptions options;
  options.segment_bytes = static_cast<uint64_t>(std::atoll(argv[5]));
  if (argc > 6) {
    const rlim_t limit = static_cast<rlim_t>(std::atoll(argv[6]));
    const rlimit fsize{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &fsize) != 0) {
      std::perror("setrlimit");
      return 1;
    }
  }
  try {
    auto store = vigil::memory::SegmentStore::open(directory, options);
    for (int64_t index = 0; index < count; ++index) {
      try {
        store->append(index, vigil::testing::segment_payload(index, payload_bytes));
        if ((index + 1) % sync_every == 0) {
          store->sync();
          say("durable " + std::to_string(index));
        }
      } catch (const vigil::memory::StorageFullError& error) {
        say("full " + std::to_string(index) + " " + error.what());
        int64_t readable = 0;
        for (int64_t earlier = 0; earlier < index; ++earlier)
          if (store->read(earlier) == vigil::testing::segment_payload(earlier, payload_bytes))
            ++readable;
        say("readable " + std::to_string(readable));
        return 3;
      }
    }
    store->sync();
    say("durable " + std::to_string(count - 1));
  } catch (const std::exception& error) {
    say(std::string("error ") + error.what());
    return 4;
  }
  return 0;
}
