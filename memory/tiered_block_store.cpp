#include "memory/tiered_block_store.h"

#include <cassert>
#include <future>
#include <iostream>
#include <set>
#include <tuple>

#include "memory/layered_record.h"

namespace vigil::memory {

namespace {

// After a full disk, spilling is tried again only every this many puts (a failed attempt
// costs a block's encoding).
constexpr int64_t kPutsBetweenDiskRetries = 64;

torch::Tensor pinned(torch::Tensor host, bool pin) {
  return pin ? host.pin_memory() : host;
}

QuantizedTensor copy_tensor(const QuantizedTensor& q,
                            const std::function<torch::Tensor(const torch::Tensor&)>& copy) {
  QuantizedTensor result = q;
  result.packed = copy(q.packed);
  result.scales = copy(q.scales);
  result.zeros = copy(q.zeros);
  return result;
}

QuantizedBlock copy_block(const QuantizedBlock& q,
                          const std::function<torch::Tensor(const torch::Tensor&)>& copy) {
  QuantizedBlock result = q;
  result.keys = copy_tensor(q.keys, copy);
  result.values = copy_tensor(q.values, copy);
  return result;
}

// Device tensors copied into host tensors of their own (pinned when the copies pin) with one
// copy for all of them: their bytes are gathered on the device, copied once on the copy
// stream, waited for, and split on the host. Many small copies each cost a few calls to the
// driver; one step's blocks hold six tensors each.
std::vector<torch::Tensor> gather_to_host(const std::vector<torch::Tensor>& tensors,
                                          CopyStream& copies) {
  std::vector<torch::Tensor> bytes;
  for (const torch::Tensor& t : tensors) {
    bytes.push_back(t.contiguous().view({-1}).view(torch::kUInt8));
  }
  const torch::Tensor host = copies.to_host(torch::cat(bytes));
  copies.synchronize();
  std::vector<torch::Tensor> parts;
  int64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int64_t count = bytes[i].numel();
    torch::Tensor part = torch::empty(
        tensors[i].sizes(),
        tensors[i].options().device(torch::kCPU).pinned_memory(copies.pins_host_memory()));
    part.view({-1}).view(torch::kUInt8).copy_(host.narrow(0, offset, count));
    parts.push_back(std::move(part));
    offset += count;
  }
  return parts;
}

// parts concatenated along dim 0 in new host memory (pinned when asked: copies from it to the
// device can then overlap compute).
torch::Tensor concatenate(const std::vector<torch::Tensor>& parts, bool pin) {
  std::vector<int64_t> shape = parts.front().sizes().vec();
  shape[0] = 0;
  for (const torch::Tensor& part : parts) shape[0] += part.size(0);
  torch::Tensor out = torch::empty(shape, parts.front().options().pinned_memory(pin));
  at::cat_out(out, parts, 0);
  return out;
}

int64_t tensor_bytes(const torch::Tensor& t) {
  return t.numel() * static_cast<int64_t>(t.element_size());
}

}  // namespace

TieredBlockStore::TieredBlockStore(TierConfig config, torch::Device device, torch::ScalarType dtype,
                                   std::unique_ptr<SegmentStore> disk)
    : config_(std::move(config)),
      device_(device),
      dtype_(dtype),
      disk_(std::move(disk)),
      copies_(device) {
  if (config_.quantize) validate(config_.quantization);
}

TieredBlockStore::~TieredBlockStore() {
  copies_.synchronize();
}

void TieredBlockStore::warn(const std::string& message) {
  if (config_.on_warning) {
    config_.on_warning(message);
  } else {
    std::cerr << "vigil memory: warning: " << message << std::endl;
  }
}

void TieredBlockStore::put(const KvBlock& block) {
  put_all({block});
}

void TieredBlockStore::put_all(const std::vector<KvBlock>& blocks) {
  const auto to_host = [&](const torch::Tensor& t) { return copies_.to_host(t); };
  // Quantize where the blocks are (the GPU when encoding on CUDA): fewer bytes to copy.
  std::vector<QuantizedBlock> quantized;
  if (config_.quantize) {
    quantized = quantize_blocks(blocks, config_.quantization);
    if (device_.is_cuda()) {
      // The step's codes, scales and zero points come to the host in one copy.
      std::vector<torch::Tensor> tensors;
      for (const QuantizedBlock& q : quantized) {
        for (const QuantizedTensor* t : {&q.keys, &q.values}) {
          tensors.insert(tensors.end(), {t->packed, t->scales, t->zeros});
        }
      }
      const std::vector<torch::Tensor> host = gather_to_host(tensors, copies_);
      size_t next = 0;
      for (QuantizedBlock& q : quantized) {
        for (QuantizedTensor* t : {&q.keys, &q.values}) {
          t->packed = host[next++];
          t->scales = host[next++];
          t->zeros = host[next++];
        }
      }
    }
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    const KvBlock& block = blocks[i];
    assert(meta_.count(block.index) == 0 && block.tokens() >= 1);
    HostEntry entry;
    if (config_.quantize) {
      entry.quantized = device_.is_cuda() ? quantized[i] : copy_block(quantized[i], to_host);
      entry.quantized->token_offsets = block.token_offsets.to(torch::kCPU);
      entry.quantized->summary_keys = block.summary_keys.to(torch::kCPU);
      entry.bytes = entry.quantized->kv_bytes();
    } else {
      KvBlock host = block;
      for (torch::Tensor& k : host.keys) k = to_host(k);
      for (torch::Tensor& v : host.values) v = to_host(v);
      host.token_offsets = block.token_offsets.to(torch::kCPU);
      if (block.summary_keys.defined()) host.summary_keys = block.summary_keys.to(torch::kCPU);
      entry.exact = std::move(host);
      entry.bytes = block.kv_bytes();
    }
    meta_[block.index] =
        Meta{block.tokens(), block.frame_tokens, block.token_offsets.cpu(), false, {}};
    max_tokens_ = std::max(max_tokens_, block.tokens());
    max_frame_tokens_ = std::max(max_frame_tokens_, block.frame_tokens);
    ++counters_.blocks_put;
    ++puts_since_disk_full_;
    insert_host(block.index, std::move(entry));
  }
  // Exact blocks may be views of the encoder's window, which later work on the compute stream
  // overwrites once they leave it: that work waits for these copies.
  if (!config_.quantize) copies_.join_compute();
}

bool TieredBlockStore::contains(int64_t block_index) const {
  return meta_.count(block_index) > 0;
}

int64_t TieredBlockStore::tokens(int64_t block_index) const {
  return meta_.at(block_index).tokens;
}

int64_t TieredBlockStore::frame_tokens(int64_t block_index) const {
  return meta_.at(block_index).frame_tokens;
}

void TieredBlockStore::insert_host(int64_t block_index, HostEntry entry) {
  host_lru_.push_front(block_index);
  entry.lru = host_lru_.begin();
  counters_.host_bytes += entry.bytes;
  host_.emplace(block_index, std::move(entry));
  enforce_host_budget(block_index);
  counters_.host_peak_bytes = std::max(counters_.host_peak_bytes, counters_.host_bytes);
}

void TieredBlockStore::enforce_host_budget(int64_t keep) {
  if (counters_.host_bytes <= config_.host_bytes) return;
  const bool disk_usable =
      disk_ && (!counters_.disk_degraded || puts_since_disk_full_ >= kPutsBetweenDiskRetries);
  if (!disk_usable) {
    if (!warned_over_budget_ && !disk_) {
      warn("host tier over its budget of " + std::to_string(config_.host_bytes) +
           " bytes and no disk tier: blocks stay in RAM");
    }
    warned_over_budget_ = true;
    return;
  }
  while (counters_.host_bytes > config_.host_bytes && host_lru_.size() > 1) {
    auto victim = std::prev(host_lru_.end());
    if (*victim == keep) victim = std::prev(victim);
    const int64_t block_index = *victim;
    HostEntry& entry = host_.at(block_index);
    if (!meta_.at(block_index).on_disk && !write_to_disk(block_index, entry)) return;
    counters_.host_bytes -= entry.bytes;
    ++counters_.host_evictions;
    host_lru_.erase(entry.lru);
    host_.erase(block_index);
  }
}

bool TieredBlockStore::write_to_disk(int64_t block_index, const HostEntry& entry) {
  copies_.synchronize();  // the host copy may still be in flight on the copy stream
  const std::vector<uint8_t> bytes = entry.quantized
                                         ? encode_layered(*entry.quantized, config_.codec)
                                         : encode_layered(*entry.exact, config_.codec);
  try {
    disk_->append(block_index, bytes);
  } catch (const StorageFullError& error) {
    ++counters_.disk_write_failures;
    if (!counters_.disk_degraded) {
      warn(std::string("disk tier full, blocks stay in host RAM beyond its budget: ") +
           error.what());
    }
    counters_.disk_degraded = true;
    puts_since_disk_full_ = 0;
    return false;
  }
  if (counters_.disk_degraded) warn("disk tier writable again");
  counters_.disk_degraded = false;
  Meta& meta = meta_.at(block_index);
  meta.on_disk = true;
  meta.layer_parts = decode_layer_table(bytes.data(), bytes.size(), bytes.size());
  ++counters_.host_to_disk;
  return true;
}

void TieredBlockStore::touch_host(int64_t block_index, HostEntry& entry) {
  host_lru_.erase(entry.lru);
  host_lru_.push_front(block_index);
  entry.lru = host_lru_.begin();
}

TieredBlockStore::HostEntry& TieredBlockStore::host_entry(int64_t block_index) {
  const auto found = host_.find(block_index);
  if (found != host_.end()) {
    touch_host(block_index, found->second);
    return found->second;
  }
  ++counters_.disk_reads;
  insert_host(block_index, read_from_disk(block_index));
  return host_.at(block_index);
}

TieredBlockStore::HostEntry TieredBlockStore::read_from_disk(int64_t block_index) const {
  assert(disk_ && meta_.at(block_index).on_disk);
  const std::vector<uint8_t> bytes = disk_->read(block_index);
  const bool pin = copies_.pins_host_memory();
  const LayeredBlock block = decode_layered(bytes.data(), bytes.size());
  return host_entry_of(block.kind == EncodedKind::kQuantized ? &block.quantized : nullptr,
                       block.kind == EncodedKind::kExact ? &block.exact : nullptr, pin);
}

TieredBlockStore::HostEntry TieredBlockStore::host_entry_of(const QuantizedBlock* quantized,
                                                            const KvBlock* exact, bool pin) {
  const auto pin_tensor = [&](const torch::Tensor& t) { return pinned(t, pin); };
  HostEntry entry;
  if (quantized) {
    entry.quantized = copy_block(*quantized, pin_tensor);
    entry.bytes = entry.quantized->kv_bytes();
  } else {
    KvBlock block = *exact;
    for (torch::Tensor& k : block.keys) k = pin_tensor(k);
    for (torch::Tensor& v : block.values) v = pin_tensor(v);
    entry.bytes = block.kv_bytes();
    entry.exact = std::move(block);
  }
  return entry;
}

TieredBlockStore::HostEntry TieredBlockStore::read_layer_from_disk(int64_t block_index,
                                                                   int layer) const {
  const LayerPart& part = meta_.at(block_index).layer_parts.at(static_cast<size_t>(layer));
  const std::vector<uint8_t> bytes = disk_->read_range(block_index, part.offset, part.size);
  try {
    check_layer(part, bytes.data(), bytes.size());
  } catch (const BlockFormatError& e) {
    // The whole record's checksum says whether the file is damaged (read() then drops the
    // block from the store and throws CorruptBlockError).
    disk_->read(block_index);
    throw CorruptBlockError("block " + std::to_string(block_index) + " layer " +
                            std::to_string(layer) + ": " + e.what());
  }
  const bool pin = copies_.pins_host_memory();
  if (encoded_kind(bytes.data(), bytes.size()) == EncodedKind::kQuantized) {
    const QuantizedBlock one = decode_quantized_block(bytes);
    return host_entry_of(&one, nullptr, pin);
  }
  const KvBlock one = decode_exact_block(bytes);
  return host_entry_of(nullptr, &one, pin);
}

std::map<int64_t, TieredBlockStore::HostEntry> TieredBlockStore::read_layers_from_disk(
    int layer, const std::vector<int64_t>& block_indices) {
  std::vector<int64_t> on_disk_only;
  for (const int64_t block_index : block_indices) {
    if (gpu_.count({block_index, layer}) > 0 || host_.count(block_index) > 0) continue;
    on_disk_only.push_back(block_index);
  }
  std::map<int64_t, HostEntry> read;
  if (on_disk_only.size() == 1) {
    read.emplace(on_disk_only.front(), read_layer_from_disk(on_disk_only.front(), layer));
    ++counters_.disk_reads;
    return read;
  }
  constexpr size_t kParallelReads = 16;
  for (size_t first = 0; first < on_disk_only.size(); first += kParallelReads) {
    const size_t end = std::min(on_disk_only.size(), first + kParallelReads);
    std::vector<std::future<HostEntry>> reads;
    for (size_t i = first; i < end; ++i) {
      reads.push_back(std::async(std::launch::async, [this, b = on_disk_only[i], layer] {
        return read_layer_from_disk(b, layer);
      }));
    }
    // In order; a read that failed rethrows here (the futures left are waited for when
    // `reads` goes).
    for (size_t i = first; i < end; ++i) {
      read.emplace(on_disk_only[i], reads[i - first].get());
      ++counters_.disk_reads;
    }
  }
  return read;
}

std::vector<LayerKv> TieredBlockStore::fetch(int layer, const std::vector<int64_t>& block_indices) {
  assert(std::set<int64_t>(block_indices.begin(), block_indices.end()).size() ==
         block_indices.size());
  // The layer of every block only the disk holds, read at once (their latencies overlap).
  const std::map<int64_t, HostEntry> from_disk = read_layers_from_disk(layer, block_indices);
  std::vector<LayerKv> result(block_indices.size());
  // Misses are gathered per group of blocks of one form and shape, so that each group costs a
  // few host-to-device copies and one dequantization instead of a few per block.
  struct Group {
    std::vector<size_t> members;              // into result
    std::vector<QuantizedBlock> quantized;    // one-layer slices (views of host memory)
    std::vector<torch::Tensor> keys, values;  // exact: [1, kv_heads, T, head_dim] each
  };
  std::map<std::vector<int64_t>, Group> groups;
  std::vector<size_t> copied;
  for (size_t i = 0; i < block_indices.size(); ++i) {
    const int64_t block_index = block_indices[i];
    const Meta& meta = meta_.at(block_index);
    LayerKv& out = result[i];
    out.block_index = block_index;
    out.token_offsets = meta.token_offsets;
    out.frame_tokens = meta.frame_tokens;
    const auto cached = gpu_.find({block_index, layer});
    if (cached != gpu_.end()) {
      ++counters_.gpu_hits;
      gpu_lru_.erase(cached->second.lru);
      gpu_lru_.push_front(cached->first);
      cached->second.lru = gpu_lru_.begin();
      out.keys = cached->second.keys;
      out.values = cached->second.values;
      continue;
    }
    ++counters_.gpu_misses;
    // A block read from disk for this call holds just this layer (its layer 0).
    const auto read = from_disk.find(block_index);
    const bool one_layer = read != from_disk.end();
    if (!one_layer) ++counters_.host_hits;
    const HostEntry& entry = one_layer ? read->second : host_entry(block_index);
    const int64_t entry_layer = one_layer ? 0 : layer;
    if (entry.exact) {
      const torch::Tensor& keys = entry.exact->keys.at(static_cast<size_t>(entry_layer));
      Group& group = groups[{0, keys.size(1), static_cast<int64_t>(keys.scalar_type())}];
      group.members.push_back(i);
      group.keys.push_back(keys.unsqueeze(0));
      group.values.push_back(entry.exact->values.at(static_cast<size_t>(entry_layer)).unsqueeze(0));
    } else {
      const QuantizedBlock& q = *entry.quantized;
      Group& group = groups[{1, q.tokens, q.keys.bits, q.values.bits, q.settings.group_size,
                             static_cast<int64_t>(q.keys.scales.scalar_type())}];
      group.members.push_back(i);
      group.quantized.push_back(entry_layer == 0 && q.layers == 1 ? q
                                                                  : slice_layer(q, entry_layer));
    }
    copied.push_back(i);
    ++counters_.host_to_gpu;
  }
  const bool pin = copies_.pins_host_memory();
  const auto to_device = [&](const torch::Tensor& t) { return copies_.to_device(t); };
  std::vector<std::pair<const Group*, QuantizedBlock>> to_dequantize;
  std::vector<std::tuple<const Group*, torch::Tensor, torch::Tensor>> exact;
  for (auto& [key, group] : groups) {
    if (group.quantized.empty()) {
      exact.emplace_back(&group, to_device(concatenate(group.keys, pin)),
                         to_device(concatenate(group.values, pin)));
      continue;
    }
    // The slices as the layers of one QuantizedBlock: each slice's codes are whole bytes.
    QuantizedBlock merged = group.quantized.front();
    merged.layers = static_cast<int64_t>(group.quantized.size());
    merged.summary_keys = torch::Tensor();
    const auto merge = [&](QuantizedTensor QuantizedBlock::*member) {
      std::vector<torch::Tensor> packed, scales, zeros;
      for (const QuantizedBlock& slice : group.quantized) {
        packed.push_back((slice.*member).packed);
        scales.push_back((slice.*member).scales);
        zeros.push_back((slice.*member).zeros);
      }
      QuantizedTensor& target = merged.*member;
      target.packed = to_device(concatenate(packed, pin));
      target.scales = to_device(concatenate(scales, pin));
      target.zeros = to_device(concatenate(zeros, pin));
    };
    merge(&QuantizedBlock::keys);
    merge(&QuantizedBlock::values);
    to_dequantize.emplace_back(&group, std::move(merged));
  }
  copies_.join_compute();
  for (auto& [group, quantized] : to_dequantize) {
    const KvBlock blocks = dequantize_block(quantized, device_, dtype_);  // layer j = member j
    for (size_t j = 0; j < group->members.size(); ++j) {
      result[group->members[j]].keys = blocks.keys[j];
      result[group->members[j]].values = blocks.values[j];
    }
  }
  for (auto& [group, keys, values] : exact) {
    const torch::Tensor typed_keys = keys.to(dtype_), typed_values = values.to(dtype_);
    for (size_t j = 0; j < group->members.size(); ++j) {
      result[group->members[j]].keys = typed_keys[static_cast<int64_t>(j)];
      result[group->members[j]].values = typed_values[static_cast<int64_t>(j)];
    }
  }
  for (const size_t i : copied) {
    const LayerKv& out = result[i];
    GpuEntry entry{out.keys, out.values, tensor_bytes(out.keys) + tensor_bytes(out.values), {}};
    const std::pair<int64_t, int> key{out.block_index, layer};
    gpu_lru_.push_front(key);
    entry.lru = gpu_lru_.begin();
    counters_.gpu_bytes += entry.bytes;
    gpu_.emplace(key, std::move(entry));
  }
  enforce_gpu_budget();
  counters_.gpu_peak_bytes = std::max(counters_.gpu_peak_bytes, counters_.gpu_bytes);
  return result;
}

void TieredBlockStore::enforce_gpu_budget() {
  while (counters_.gpu_bytes > config_.gpu_bytes && !gpu_lru_.empty()) {
    const std::pair<int64_t, int> key = gpu_lru_.back();
    gpu_lru_.pop_back();
    counters_.gpu_bytes -= gpu_.at(key).bytes;
    gpu_.erase(key);
    ++counters_.gpu_evictions;
  }
}

KvBlock TieredBlockStore::fetch_block(int64_t block_index) {
  if (host_.count(block_index) > 0) ++counters_.host_hits;
  const HostEntry& entry = host_entry(block_index);
  const auto to_device = [&](const torch::Tensor& t) { return copies_.to_device(t); };
  if (entry.quantized) {
    const QuantizedBlock on_device = copy_block(*entry.quantized, to_device);
    copies_.join_compute();
    return dequantize_block(on_device, device_, dtype_);
  }
  KvBlock block = *entry.exact;
  for (torch::Tensor& k : block.keys) k = to_device(k);
  for (torch::Tensor& v : block.values) v = to_device(v);
  copies_.join_compute();
  for (torch::Tensor& k : block.keys) k = k.to(dtype_);
  for (torch::Tensor& v : block.values) v = v.to(dtype_);
  return block;
}

void TieredBlockStore::flush_to_disk() {
  if (!disk_) return;
  for (const int64_t block_index : host_lru_) {
    if (meta_.at(block_index).on_disk) continue;
    if (!write_to_disk(block_index, host_.at(block_index))) return;
  }
  try {
    disk_->sync();
  } catch (const StorageFullError& error) {
    ++counters_.disk_write_failures;
    warn(std::string("disk tier full, the last blocks are not durable: ") + error.what());
  }
}

void TieredBlockStore::remove_disk() {
  if (!disk_) return;
  disk_->remove_stream();
  disk_.reset();
}

TierCounters TieredBlockStore::counters() const {
  TierCounters counters = counters_;
  counters.gpu_entries = static_cast<int64_t>(gpu_.size());
  counters.host_blocks = static_cast<int64_t>(host_.size());
  if (disk_) {
    counters.disk_blocks = disk_->block_count();
    counters.disk_bytes = static_cast<int64_t>(disk_->disk_bytes());
    counters.disk_bytes_read = disk_->counters().bytes_read;
  }
  return counters;
}

}  // namespace vigil::memory
