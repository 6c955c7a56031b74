#include "memory/block_codec.h"

#include <zstd.h>

#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

namespace vigil::memory {
namespace {

constexpr char kMagic[4] = {'V', 'K', 'V', 'B'};
constexpr size_t kHeaderBytes = 16;             // magic, version, kind, compression, body bytes
constexpr uint64_t kMaxBodyBytes = 1ull << 36;  // 64 GiB: far beyond any frame's KV
constexpr int64_t kMaxDimension = 1ll << 40;
constexpr uint8_t kUndefinedTensor = 255;

// dtype codes of the format (stable, unlike c10's enum values).
uint8_t dtype_code(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32:
      return 0;
    case torch::kFloat16:
      return 1;
    case torch::kBFloat16:
      return 2;
    case torch::kInt64:
      return 3;
    case torch::kUInt8:
      return 4;
    case torch::kInt32:
      return 5;
    case torch::kFloat64:
      return 6;
    default:
      throw BlockFormatError(std::string("encode_block: tensors of dtype ") + c10::toString(dtype) +
                             " are not supported");
  }
}

torch::ScalarType dtype_of_code(uint8_t code, size_t offset) {
  switch (code) {
    case 0:
      return torch::kFloat32;
    case 1:
      return torch::kFloat16;
    case 2:
      return torch::kBFloat16;
    case 3:
      return torch::kInt64;
    case 4:
      return torch::kUInt8;
    case 5:
      return torch::kInt32;
    case 6:
      return torch::kFloat64;
    default:
      throw BlockFormatError("decode_block: unknown dtype code " + std::to_string(code) +
                             " at body offset " + std::to_string(offset));
  }
}

class Writer {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &value, sizeof(T));
  }
  void put_tensor(const torch::Tensor& tensor) {
    if (!tensor.defined()) {
      put<uint8_t>(kUndefinedTensor);
      put<uint8_t>(0);
      return;
    }
    const torch::Tensor cpu = tensor.to(torch::kCPU).contiguous();
    put<uint8_t>(dtype_code(cpu.scalar_type()));
    put<uint8_t>(static_cast<uint8_t>(cpu.dim()));
    for (int64_t size : cpu.sizes()) put<int64_t>(size);
    const uint64_t nbytes = static_cast<uint64_t>(cpu.numel()) * cpu.element_size();
    put<uint64_t>(nbytes);
    const size_t at = bytes.size();
    bytes.resize(at + nbytes);
    if (nbytes) std::memcpy(bytes.data() + at, cpu.data_ptr(), nbytes);
  }
  std::vector<uint8_t> bytes;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  torch::Tensor get_tensor(const char* what) {
    const size_t start = at_;
    const uint8_t code = get<uint8_t>(what);
    const uint8_t dims = get<uint8_t>(what);
    if (code == kUndefinedTensor) {
      if (dims != 0) fail(what, start, "undefined tensor with dimensions");
      return {};
    }
    const torch::ScalarType dtype = dtype_of_code(code, start);
    if (dims > 8) fail(what, start, std::to_string(dims) + " dimensions");
    std::vector<int64_t> shape(dims);
    uint64_t numel = 1;
    for (int64_t& size : shape) {
      size = get<int64_t>(what);
      if (size < 0 || size > kMaxDimension) fail(what, start, "dimension " + std::to_string(size));
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(size), &numel))
        fail(what, start, "element count overflows");
    }
    const uint64_t nbytes = get<uint64_t>(what);
    const uint64_t element = c10::elementSize(dtype);
    uint64_t expected;
    if (__builtin_mul_overflow(numel, element, &expected) || expected != nbytes)
      fail(what, start,
           std::to_string(nbytes) + " data bytes for a shape that needs " +
               std::to_string(numel * element));
    need(nbytes, what);
    torch::Tensor tensor = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    if (nbytes) std::memcpy(tensor.data_ptr(), data_ + at_, nbytes);
    at_ += nbytes;
    return tensor;
  }
  void expect_end() {
    if (at_ != size_)
      throw BlockFormatError("decode_block: " + std::to_string(size_ - at_) +
                             " unexpected bytes after the block at body offset " +
                             std::to_string(at_));
  }
  [[noreturn]] void fail(const char* what, size_t offset, const std::string& why) const {
    throw BlockFormatError(std::string("decode_block: ") + what + " at body offset " +
                           std::to_string(offset) + ": " + why);
  }

 private:
  void need(uint64_t bytes, const char* what) const {
    if (bytes > size_ - at_)
      throw BlockFormatError(std::string("decode_block: truncated: ") + what + " at body offset " +
                             std::to_string(at_) + " needs " + std::to_string(bytes) + " bytes, " +
                             std::to_string(size_ - at_) + " left");
  }
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

// Summary keys: [layers, kv_heads, head_dim] (KvBlock::summary_keys), layout 0. Layout 1, the
// same means with the query group size, is what earlier versions wrote instead of the means
// repeated over each group; it is still read.
void put_summary_keys(Writer& w, const torch::Tensor& summary_keys) {
  w.put<uint8_t>(0);
  w.put_tensor(summary_keys);
}

void put_metadata(Writer& w, int64_t index, double start, double end, int64_t frame_tokens,
                  const torch::Tensor& token_offsets, const torch::Tensor& summary_keys) {
  w.put<int64_t>(index);
  w.put<double>(start);
  w.put<double>(end);
  w.put<int64_t>(frame_tokens);
  w.put_tensor(token_offsets);
  put_summary_keys(w, summary_keys);
}

std::vector<uint8_t> finish(EncodedKind kind, const CodecSettings& settings,
                            const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out(kHeaderBytes);
  std::memcpy(out.data(), kMagic, 4);
  const uint16_t version = kBlockFormatVersion;
  std::memcpy(out.data() + 4, &version, 2);
  out[6] = static_cast<uint8_t>(kind);
  out[7] = static_cast<uint8_t>(settings.compression);
  const uint64_t body_bytes = body.size();
  std::memcpy(out.data() + 8, &body_bytes, 8);
  if (settings.compression == BlockCompression::kNone) {
    out.resize(kHeaderBytes + body.size());
    if (!body.empty()) std::memcpy(out.data() + kHeaderBytes, body.data(), body.size());
    return out;
  }
  out.resize(kHeaderBytes + ZSTD_compressBound(body.size()));
  const std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> context(ZSTD_createCCtx(),
                                                                   ZSTD_freeCCtx);
  if (!context) throw std::bad_alloc();
  // The frame carries its content size (checked against the header) and a checksum, so a
  // damaged frame fails to decode instead of decoding into other bytes.
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_compressionLevel, settings.zstd_level);
  ZSTD_CCtx_setParameter(context.get(), ZSTD_c_checksumFlag, 1);
  const size_t written = ZSTD_compress2(context.get(), out.data() + kHeaderBytes,
                                        out.size() - kHeaderBytes, body.data(), body.size());
  if (ZSTD_isError(written))
    throw BlockFormatError(std::string("encode_block: zstd: ") + ZSTD_getErrorName(written));
  out.resize(kHeaderBytes + written);
  return out;
}

struct Header {
  EncodedKind kind;
  BlockCompression compression;
  uint64_t body_bytes;
};

Header read_header(const uint8_t* data, size_t size) {
  if (size < kHeaderBytes)
    throw BlockFormatError("decode_block: " + std::to_string(size) +
                           " bytes, shorter than the 16-byte header");
  if (std::memcmp(data, kMagic, 4) != 0)
    throw BlockFormatError("decode_block: bad magic at offset 0 (not a vigil KV block)");
  uint16_t version;
  std::memcpy(&version, data + 4, 2);
  if (version != kBlockFormatVersion)
    throw BlockFormatError("decode_block: format version " + std::to_string(version) +
                           ", this build reads " + std::to_string(kBlockFormatVersion));
  if (data[6] > 1)
    throw BlockFormatError("decode_block: unknown kind " + std::to_string(data[6]) +
                           " at offset 6");
  if (data[7] > 1)
    throw BlockFormatError("decode_block: unknown compression " + std::to_string(data[7]) +
                           " at offset 7");
  Header header{static_cast<EncodedKind>(data[6]), static_cast<BlockCompression>(data[7]), 0};
  std::memcpy(&header.body_bytes, data + 8, 8);
  if (header.body_bytes > kMaxBodyBytes)
    throw BlockFormatError("decode_block: body of " + std::to_string(header.body_bytes) +
                           " bytes at offset 8 is beyond any block");
  return header;
}

// The uncompressed body: a view into `data` or, for zstd, into *storage.
std::pair<const uint8_t*, size_t> body_of(const Header& header, const uint8_t* data, size_t size,
                                          std::vector<uint8_t>* storage) {
  const uint8_t* payload = data + kHeaderBytes;
  const size_t payload_size = size - kHeaderBytes;
  if (header.compression == BlockCompression::kNone) {
    if (payload_size != header.body_bytes)
      throw BlockFormatError("decode_block: header says " + std::to_string(header.body_bytes) +
                             " body bytes, " + std::to_string(payload_size) + " follow it");
    return {payload, payload_size};
  }
  const unsigned long long content = ZSTD_getFrameContentSize(payload, payload_size);
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN ||
      content != header.body_bytes)
    throw BlockFormatError(
        "decode_block: zstd frame at offset 16 is malformed or does not hold "
        "the header's " +
        std::to_string(header.body_bytes) + " bytes");
  storage->resize(header.body_bytes);
  const size_t got = ZSTD_decompress(storage->data(), storage->size(), payload, payload_size);
  if (ZSTD_isError(got) || got != header.body_bytes)
    throw BlockFormatError(std::string("decode_block: zstd: ") +
                           (ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short frame"));
  return {storage->data(), storage->size()};
}

template <typename Block>
void get_metadata(Reader& r, Block& block) {
  block.index = r.template get<int64_t>("index");
  block.start_seconds = r.template get<double>("start_seconds");
  block.end_seconds = r.template get<double>("end_seconds");
  block.frame_tokens = r.template get<int64_t>("frame_tokens");
  block.token_offsets = r.get_tensor("token_offsets");
  const uint8_t layout = r.template get<uint8_t>("summary keys layout");
  if (layout == 0) {
    block.summary_keys = r.get_tensor("summary_keys");
  } else if (layout == 1) {
    const uint32_t group = r.template get<uint32_t>("summary keys group");
    const torch::Tensor means = r.get_tensor("summary keys");
    if (group < 1 || group > 4096 || !means.defined() || means.dim() != 3)
      r.fail("summary keys", 0, "grouped layout with group " + std::to_string(group));
    block.summary_keys = means;
  } else {
    r.fail("summary keys layout", 0, std::to_string(layout));
  }
  if (block.token_offsets.defined() &&
      (block.token_offsets.scalar_type() != torch::kInt64 || block.token_offsets.dim() != 1))
    throw BlockFormatError("decode_block: token_offsets is not int64 [T]");
}

bool valid_bits(uint8_t bits) {
  return bits == 2 || bits == 4 || bits == 8;
}

}  // namespace

std::vector<uint8_t> encode_block(const KvBlock& block, const CodecSettings& settings) {
  if (block.keys.size() != block.values.size())
    throw BlockFormatError("encode_block: block " + std::to_string(block.index) + " has " +
                           std::to_string(block.keys.size()) + " key layers and " +
                           std::to_string(block.values.size()) + " value layers");
  Writer w;
  put_metadata(w, block.index, block.start_seconds, block.end_seconds, block.frame_tokens,
               block.token_offsets, block.summary_keys);
  w.put<uint32_t>(static_cast<uint32_t>(block.keys.size()));
  for (size_t layer = 0; layer < block.keys.size(); ++layer) {
    w.put_tensor(block.keys[layer]);
    w.put_tensor(block.values[layer]);
  }
  return finish(EncodedKind::kExact, settings, w.bytes);
}

std::vector<uint8_t> encode_block(const QuantizedBlock& block, const CodecSettings& settings) {
  Writer w;
  put_metadata(w, block.index, block.start_seconds, block.end_seconds, block.frame_tokens,
               block.token_offsets, block.summary_keys);
  w.put<int64_t>(block.layers);
  w.put<int64_t>(block.kv_heads);
  w.put<int64_t>(block.tokens);
  w.put<int64_t>(block.head_dim);
  w.put<uint8_t>(dtype_code(block.source_dtype));
  w.put<uint8_t>(static_cast<uint8_t>(block.settings.key_bits));
  w.put<uint8_t>(static_cast<uint8_t>(block.settings.value_bits));
  w.put<uint8_t>(static_cast<uint8_t>(block.settings.scale_dtype));
  w.put<uint32_t>(static_cast<uint32_t>(block.settings.group_size));
  for (const QuantizedTensor* q : {&block.keys, &block.values}) {
    w.put_tensor(q->packed);
    w.put_tensor(q->scales);
    w.put_tensor(q->zeros);
  }
  return finish(EncodedKind::kQuantized, settings, w.bytes);
}

EncodedKind encoded_kind(const uint8_t* data, size_t size) {
  return read_header(data, size).kind;
}

KvBlock decode_exact_block(const uint8_t* data, size_t size) {
  const Header header = read_header(data, size);
  if (header.kind != EncodedKind::kExact)
    throw BlockFormatError("decode_exact_block: the bytes hold a quantized block");
  std::vector<uint8_t> storage;
  const auto [body, body_size] = body_of(header, data, size, &storage);
  Reader r(body, body_size);
  KvBlock block;
  get_metadata(r, block);
  const uint32_t layers = r.get<uint32_t>("layer count");
  if (layers > 4096) r.fail("layer count", 0, std::to_string(layers) + " layers");
  for (uint32_t layer = 0; layer < layers; ++layer) {
    torch::Tensor keys = r.get_tensor("keys");
    torch::Tensor values = r.get_tensor("values");
    if (!keys.defined() || !values.defined() || keys.dim() != 3 || keys.sizes() != values.sizes() ||
        (block.token_offsets.defined() && keys.size(1) != block.token_offsets.size(0)))
      throw BlockFormatError("decode_block: layer " + std::to_string(layer) +
                             ": keys/values are not [kv_heads, T, head_dim] with T = " +
                             std::to_string(block.tokens()));
    block.keys.push_back(std::move(keys));
    block.values.push_back(std::move(values));
  }
  r.expect_end();
  return block;
}

QuantizedBlock decode_quantized_block(const uint8_t* data, size_t size) {
  const Header header = read_header(data, size);
  if (header.kind != EncodedKind::kQuantized)
    throw BlockFormatError("decode_quantized_block: the bytes hold an exact block");
  std::vector<uint8_t> storage;
  const auto [body, body_size] = body_of(header, data, size, &storage);
  Reader r(body, body_size);
  QuantizedBlock block;
  get_metadata(r, block);
  block.layers = r.get<int64_t>("layers");
  block.kv_heads = r.get<int64_t>("kv_heads");
  block.tokens = r.get<int64_t>("tokens");
  block.head_dim = r.get<int64_t>("head_dim");
  for (int64_t dimension : {block.layers, block.kv_heads, block.tokens, block.head_dim})
    if (dimension < 1 || dimension > (1 << 20))
      r.fail("shape", 0, "dimension " + std::to_string(dimension) + " out of range");
  block.source_dtype = dtype_of_code(r.get<uint8_t>("source dtype"), 0);
  const uint8_t key_bits = r.get<uint8_t>("key bits");
  const uint8_t value_bits = r.get<uint8_t>("value bits");
  const uint8_t scale_dtype = r.get<uint8_t>("scale dtype");
  const uint32_t group = r.get<uint32_t>("group size");
  if (!valid_bits(key_bits) || !valid_bits(value_bits) || scale_dtype > 1 || group < 1 ||
      group > (1u << 20))
    r.fail("quantization settings", 0,
           "bits " + std::to_string(key_bits) + "/" + std::to_string(value_bits) +
               ", scale dtype " + std::to_string(scale_dtype) + ", group " + std::to_string(group));
  block.settings.key_bits = key_bits;
  block.settings.value_bits = value_bits;
  block.settings.scale_dtype = static_cast<ScaleDtype>(scale_dtype);
  block.settings.group_size = static_cast<int>(group);
  if (block.token_offsets.defined() && block.token_offsets.size(0) != block.tokens)
    r.fail("token_offsets", 0, "length differs from the token count");

  const int64_t numel = block.layers * block.kv_heads * block.tokens * block.head_dim;
  const torch::ScalarType stored =
      block.settings.scale_dtype == ScaleDtype::kFloat16 ? torch::kFloat16 : torch::kFloat32;
  const int64_t token_groups = (block.tokens + group - 1) / group;
  const int64_t channel_groups = (block.head_dim + group - 1) / group;
  const std::vector<int64_t> key_scales = {block.layers, block.kv_heads, token_groups,
                                           block.head_dim};
  const std::vector<int64_t> value_scales = {block.layers, block.kv_heads, block.tokens,
                                             channel_groups};
  for (QuantizedTensor* q : {&block.keys, &block.values}) {
    const bool is_keys = q == &block.keys;
    q->bits = is_keys ? key_bits : value_bits;
    q->packed = r.get_tensor("packed codes");
    q->scales = r.get_tensor("scales");
    q->zeros = r.get_tensor("zeros");
    const std::vector<int64_t>& scale_shape = is_keys ? key_scales : value_scales;
    if (!q->packed.defined() || q->packed.scalar_type() != torch::kUInt8 || q->packed.dim() != 1 ||
        q->packed.size(0) != packed_bytes(numel, q->bits) || !q->scales.defined() ||
        q->scales.scalar_type() != stored || q->scales.sizes() != scale_shape ||
        !q->zeros.defined() || q->zeros.scalar_type() != stored || q->zeros.sizes() != scale_shape)
      throw BlockFormatError(std::string("decode_block: ") + (is_keys ? "keys" : "values") +
                             ": packed codes, scales or zeros do not match the block's shape");
  }
  r.expect_end();
  return block;
}

KvBlock decode_block(const uint8_t* data, size_t size, torch::Device device,
                     torch::ScalarType dtype) {
  if (encoded_kind(data, size) == EncodedKind::kQuantized)
    return dequantize_block(decode_quantized_block(data, size), device, dtype);
  KvBlock block = decode_exact_block(data, size);
  for (auto* layers : {&block.keys, &block.values})
    for (torch::Tensor& t : *layers) t = t.to(device, dtype);
  if (block.token_offsets.defined()) block.token_offsets = block.token_offsets.to(device);
  if (block.summary_keys.defined()) block.summary_keys = block.summary_keys.to(device);
  return block;
}

}  // namespace vigil::memory
