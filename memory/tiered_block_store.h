// One stream's blocks in three tiers with byte budgets (DESIGN.md memory/):
//   GPU:  an LRU cache of retrieved blocks' layers, (block, layer) entries on the model's
//         device in its dtype, exact or dequantized;
//   host: every block not spilled to disk, quantized (KIVI, kv_quantizer.h) or exact, in
//         pinned memory when the device is CUDA; LRU order decides what spills;
//   disk: the stream's SegmentStore (block_codec.h bytes, zstd): what the host budget cannot
//         hold; a read brings the block back to the host tier.
// put() writes a block to the host tier (the sinks and the encoder's window live outside this
// store, on the GPU). fetch() brings one layer of many blocks to the device from whichever
// tier holds them. Host<->device copies run on a CopyStream. When the disk is full
// (StorageFullError) blocks stay in RAM beyond its budget, with one warning and a counter.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "memory/block_codec.h"
#include "memory/copy_stream.h"
#include "memory/kv_block.h"
#include "memory/kv_quantizer.h"
#include "memory/layered_record.h"
#include "memory/segment_store.h"

namespace vigil::memory {

struct TierConfig {
  int64_t gpu_bytes = int64_t{4} << 30;    // LRU cache of retrieved layers on the device
  int64_t host_bytes = int64_t{32} << 30;  // host RAM tier
  // Host and disk hold blocks quantized with `quantization`; otherwise exact (lossless).
  bool quantize = true;
  QuantizationSettings quantization;
  CodecSettings codec{BlockCompression::kZstd, 3};  // disk bytes
  // Receives the warnings (disk full, host over budget); null writes them to stderr.
  std::function<void(const std::string&)> on_warning;
};

// One layer of one block on the device, as fetch() returns it.
struct LayerKv {
  int64_t block_index = 0;
  torch::Tensor keys;           // [kv_heads, T, head_dim], pre-RoPE, model dtype, on the device
  torch::Tensor values;         // [kv_heads, T, head_dim]
  torch::Tensor token_offsets;  // int64 [T] on the CPU (KvBlock::token_offsets)
  int64_t frame_tokens = 0;
};

// What each tier holds and what moved (STYLE.md 7). Bytes are keys+values (codes, scales and
// zero points when quantized); disk bytes are the segment files.
struct TierCounters {
  int64_t gpu_entries = 0, gpu_bytes = 0, gpu_peak_bytes = 0;  // (block, layer) entries
  int64_t host_blocks = 0, host_bytes = 0, host_peak_bytes = 0;
  int64_t disk_blocks = 0, disk_bytes = 0;
  int64_t disk_bytes_read = 0;  // from the segment files (SegmentStoreCounters::bytes_read)
  int64_t blocks_put = 0;
  int64_t gpu_hits = 0, gpu_misses = 0;  // per (block, layer) fetched
  int64_t host_hits = 0;                 // misses served from the host tier
  // Misses served from disk: fetch() reads just the layer it needs of a spilled block (and
  // keeps it in the GPU cache only); fetch_block() reads whole blocks back into the host tier.
  int64_t disk_reads = 0;
  int64_t host_to_gpu = 0, gpu_evictions = 0;
  int64_t host_to_disk = 0;         // blocks written to disk when spilled from the host tier
  int64_t host_evictions = 0;       // blocks dropped from the host tier (a disk copy exists)
  int64_t disk_write_failures = 0;  // StorageFullError: the block stayed in RAM
  bool disk_degraded = false;       // the disk was full: RAM holds beyond its budget
};

// Not thread-safe: the stream's engine thread calls it (the SegmentStore itself is).
class TieredBlockStore {
 public:
  // device, dtype: where and as what fetch() returns keys and values (the model's). disk: the
  // stream's segment store, or null for no disk tier (then the host tier holds everything and
  // its budget is exceeded with a warning, as with a full disk).
  TieredBlockStore(TierConfig config, torch::Device device, torch::ScalarType dtype,
                   std::unique_ptr<SegmentStore> disk);
  ~TieredBlockStore();

  // Stores a block (any device, any float dtype; not modified; its tensors may be shared with
  // the encoder's window, whose later work may overwrite them: what put() reads on the copy
  // stream, the compute stream waits for). Quantizes it when configured, copies it to the host
  // tier on the copy stream, spills least recently used host blocks to disk beyond the host
  // budget.
  // Block indices are unique. Throws QuantizationError, StorageError (not StorageFullError).
  void put(const KvBlock& block);
  // put() of each block, quantized together (quantize_blocks: one device check for all).
  void put_all(const std::vector<KvBlock>& blocks);
  bool contains(int64_t block_index) const;
  int64_t size() const { return static_cast<int64_t>(meta_.size()); }
  // Tokens of the block (T) and its span before token drop (frame_tokens).
  int64_t tokens(int64_t block_index) const;
  int64_t frame_tokens(int64_t block_index) const;
  int64_t max_tokens() const { return max_tokens_; }
  int64_t max_frame_tokens() const { return max_frame_tokens_; }

  // Batch fetch of one layer of the given blocks (all held), in the order given, on the
  // device; usable on the compute stream when it returns. Hits the GPU LRU, else copies from
  // the host tier (reading from disk first when spilled) and caches the result. The misses of
  // one call are copied and dequantized together, so their tensors are views of a few shared
  // allocations: the GPU budget counts each entry's own bytes, and an allocation is freed when
  // the last entry viewing it is evicted (and the caller drops it). Throws
  // CorruptBlockError / BlockFormatError / StorageError for a bad disk read.
  std::vector<LayerKv> fetch(int layer, const std::vector<int64_t>& block_indices);
  // Every layer of one block on the device (bypasses the GPU cache; tests and read-ahead).
  KvBlock fetch_block(int64_t block_index);

  // Writes every host block not yet on disk to disk and makes the disk durable (graceful
  // shutdown). Throws StorageError; a full disk stops early (counted, warned).
  void flush_to_disk();
  // Deletes the stream's disk files (its session was deleted). Blocks held only on disk are
  // gone: call it just before destroying the store.
  void remove_disk();
  TierCounters counters() const;
  const TierConfig& config() const { return config_; }

 private:
  struct HostEntry {
    std::optional<KvBlock> exact;             // on the CPU
    std::optional<QuantizedBlock> quantized;  // on the CPU
    int64_t bytes = 0;
    std::list<int64_t>::iterator lru;
  };
  struct Meta {
    int64_t tokens = 0, frame_tokens = 0;
    torch::Tensor token_offsets;  // CPU
    bool on_disk = false;
    std::vector<LayerPart> layer_parts;  // on disk: where each layer lies in its record
  };
  struct GpuEntry {
    torch::Tensor keys, values;
    int64_t bytes = 0;
    std::list<std::pair<int64_t, int>>::iterator lru;
  };

  void insert_host(int64_t block_index, HostEntry entry);
  void enforce_host_budget(int64_t keep);
  bool write_to_disk(int64_t block_index, const HostEntry& entry);
  HostEntry& host_entry(int64_t block_index);  // reads from disk when spilled
  // A spilled block read from disk and decoded into (pinned) host memory; touches no state,
  // so several run at once.
  HostEntry read_from_disk(int64_t block_index) const;
  // The same for one layer of it (a one-layer entry: its layer 0): reads 1/layers of the record.
  HostEntry read_layer_from_disk(int64_t block_index, int layer) const;
  // `layer` of the blocks among block_indices that only the disk holds, read in parallel (their
  // disk latencies overlap); not kept in the host tier.
  std::map<int64_t, HostEntry> read_layers_from_disk(int layer,
                                                     const std::vector<int64_t>& block_indices);
  // A host entry of the block (pinned when asked): exactly one of quantized and exact is given.
  static HostEntry host_entry_of(const QuantizedBlock* quantized, const KvBlock* exact, bool pin);
  void touch_host(int64_t block_index, HostEntry& entry);
  void enforce_gpu_budget();
  void warn(const std::string& message);

  int64_t puts_since_disk_full_ = 0;
  bool warned_over_budget_ = false;

  TierConfig config_;
  torch::Device device_;
  torch::ScalarType dtype_;
  std::unique_ptr<SegmentStore> disk_;
  CopyStream copies_;
  std::map<int64_t, Meta> meta_;
  std::map<int64_t, HostEntry> host_;
  std::list<int64_t> host_lru_;  // most recent first
  std::map<std::pair<int64_t, int>, GpuEntry> gpu_;
  std::list<std::pair<int64_t, int>> gpu_lru_;  // most recent first
  int64_t max_tokens_ = 0, max_frame_tokens_ = 0;
  TierCounters counters_;
};

}  // namespace vigil::memory
