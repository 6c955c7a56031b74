#include "llm/unicode_class.h"

#include <utf8proc.h>

#include <array>
#include <cstdint>
#include <map>
#include <vector>

namespace vigil::llm {
namespace {

constexpr char32_t kCodePointLimit = 0x110000;
constexpr int kBlockBits = 8;
constexpr char32_t kBlockSize = 1 << kBlockBits;

// White_Space (PropList.txt), unchanged since Unicode 6.3. utf8proc has no property for it.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Hangul jamo that compose algorithmically with a preceding L or LV: vowels (V) and trailing
// consonants (T). Every other composition's second code point is a combining mark.
bool is_hangul_composition_second(char32_t c) {
  return (c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2);
}

// NFC(c) == c: decompose canonically, recompose, compare.
bool nfc_of_itself_is_itself(char32_t c) {
  utf8proc_int32_t buffer[32];
  int last_boundclass = 0;
  const utf8proc_option_t options =
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  utf8proc_ssize_t count = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buffer, 32,
                                                   options, &last_boundclass);
  if (count < 1 || count > 32) return false;
  count = utf8proc_normalize_utf32(buffer, count,
                                   static_cast<utf8proc_option_t>(options | UTF8PROC_COMPOSE));
  return count == 1 && buffer[0] == static_cast<utf8proc_int32_t>(c);
}

uint8_t compute_flags(char32_t c) {
  const utf8proc_property_t* property = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  uint8_t flags = 0;
  switch (property->category) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      flags |= kLetter;
      break;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      flags |= kNumber;
      break;
    default:
      break;
  }
  if (is_white_space(c)) flags |= kWhitespace;
  if (c == '\n' || c == '\r') flags |= kLineBreak;
  const bool is_mark = property->category == UTF8PROC_CATEGORY_MN ||
                       property->category == UTF8PROC_CATEGORY_MC ||
                       property->category == UTF8PROC_CATEGORY_ME;
  const bool is_surrogate = c >= 0xD800 && c <= 0xDFFF;
  // Without a decomposition mapping a code point is its own NFC (Hangul syllables decompose
  // algorithmically but always recompose to themselves).
  const bool has_decomposition = property->decomp_seqindex != UINT16_MAX;
  if (c < 0x300 ||
      (!is_surrogate && property->combining_class == 0 && !is_mark &&
       !is_hangul_composition_second(c) && (!has_decomposition || nfc_of_itself_is_itself(c)))) {
    flags |= kNfcInert;
  }
  return flags;
}

// Stage one maps the high bits of a code point to a 256-entry block of flags; identical blocks
// (most of the planes) are stored once.
class UnicodeTable {
 public:
  UnicodeTable() {
    std::map<std::array<uint8_t, kBlockSize>, uint16_t> known_blocks;
    block_of_.resize(kCodePointLimit / kBlockSize);
    std::array<uint8_t, kBlockSize> block;
    for (char32_t high = 0; high < kCodePointLimit / kBlockSize; ++high) {
      for (char32_t low = 0; low < kBlockSize; ++low)
        block[low] = compute_flags(high << kBlockBits | low);
      const auto [it, inserted] =
          known_blocks.emplace(block, static_cast<uint16_t>(known_blocks.size()));
      if (inserted) flags_.insert(flags_.end(), block.begin(), block.end());
      block_of_[high] = it->second;
    }
  }

  uint8_t flags(char32_t c) const {
    if (c >= kCodePointLimit) return 0;
    return flags_[(size_t(block_of_[c >> kBlockBits]) << kBlockBits) | (c & (kBlockSize - 1))];
  }

 private:
  std::vector<uint16_t> block_of_;
  std::vector<uint8_t> flags_;
};

}  // namespace

uint8_t unicode_flags(char32_t code_point) {
  static const UnicodeTable table;  // immutable once built; C++11 guarantees one thread builds it
  return table.flags(code_point);
}

}  // namespace vigil::llm
