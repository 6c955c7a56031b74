#include "tests/llm/tokenizer_corpus.h"

#include <utf8proc.h>

#include <cstdio>
#include <functional>
#include <utility>

namespace vigil::testing {
namespace {

// splitmix64: the same numbers everywhere (std distributions differ between libraries).
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  size_t between(size_t low, size_t high) { return low + below(high - low + 1); }  // inclusive
  bool chance(double probability) {
    return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0) < probability;
  }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  uint64_t state_;
};

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string utf8_of(std::initializer_list<char32_t> code_points) {
  std::string out;
  for (const char32_t c : code_points) append_utf8(c, out);
  return out;
}

// Assigned (in utf8proc's Unicode 15.0), not a surrogate.
bool is_assigned(char32_t c) {
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) != UTF8PROC_CATEGORY_CN;
}

// A random piece of text cut at code point boundaries.
std::string slice(Random& random, const std::string& text, size_t min_bytes, size_t max_bytes) {
  if (text.size() <= min_bytes) return text;
  size_t begin = random.below(text.size());
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  size_t end = std::min(text.size(), begin + random.between(min_bytes, max_bytes));
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  return text.substr(begin, end - begin);
}

// ---- source material ------------------------------------------------------------------

const std::vector<std::string> kProse = {
    "The quick brown fox jumps over the lazy dog, and the dog doesn't seem to mind at all.",
    "It was late in the evening when the camera on the fourth floor noticed that the loading "
    "dock's door had been left open; nobody had closed it since the delivery at 6:45 p.m.",
    "Video understanding is hard: a model must remember what happened hours ago, recognise "
    "that the person in frame 10,432 is the same one who appeared in frame 17, and answer "
    "questions like \"When did the red truck leave?\" in well under a second.",
    "We'll need three things. First, a decoder that never drops frames; second, an encoder that "
    "keeps up with real time; and third -- most importantly -- a memory that's searchable.",
    "She said, 'I'm not sure we're ready,' but they'd already shipped version 2.3.1 to "
    "customers in Europe, Asia and South America.",
    "Mr. O'Neill's report (see Appendix B, pp. 12-19) concludes that the system's latency "
    "improved by 37% after the cache was moved to NVMe storage.",
    "ALL CAPS SENTENCES APPEAR IN LOGS AND HEADLINES: WARNING! DISK USAGE AT 98%. YOU'LL WANT "
    "TO CHECK THE ARCHIVE BEFORE IT'S TOO LATE.",
    "Résumé, naïve café owners, façades and jalapeños: English borrows accented words often, "
    "and a tokenizer must keep every one of them exactly as it was written.",
    "Questions? Answers! Ellipses... em-dashes—and en-dashes–all appear in real prose; so do "
    "“curly quotes”, ‘single ones’, and the occasional ¶ or § sign.",
    "In 1969, Apollo 11 landed on the Moon; 600 million people watched the grainy broadcast "
    "live, and many of them still remember where they were at 02:56 UTC.",
    "Once upon a time, in a warehouse far away, a forklift operator named Sam counted 1,024 "
    "boxes, then counted them again, because the first count didn't match the manifest.",
    "Dear team,\n\nPlease find attached the minutes of Tuesday's meeting. Action items are "
    "listed at the end.\n\nBest regards,\nAlex",
};

const std::vector<std::string> kWords = {
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "I",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "camera",
    "stream",
    "frame",
    "memory",
    "question",
    "answer",
    "video",
    "person",
    "vehicle",
    "door",
    "window",
    "yesterday",
    "morning",
    "quickly",
    "carefully",
    "unbelievable",
    "tokenization",
    "internationalization",
    "antidisestablishmentarianism",
    "pneumonoultramicroscopic",
    "supercalifragilisticexpialidocious",
    "GPU",
    "CPU",
    "API",
    "JSON",
    "HTTP",
    "WebSocket",
    "OpenAI",
    "Qwen",
    "transformer",
    "embedding",
    "latency",
    "throughput",
    "McDonald",
    "iPhone",
    "eBay",
    "JavaScript",
    "TypeScript",
    "naïve",
    "coöperate",
    "Zürich",
    "São",
    "Ångström",
    "Dvořák",
    "Łódź",
    "Ελλάδα",
    "Москва",
    "привет",
    "мир",
    "Straße",
    "ﬁnance",
};

const std::vector<std::string> kCode = {
    "#include <vector>\n#include <string>\n\nint main(int argc, char** argv) {\n  std::vector<"
    "std::string> args(argv, argv + argc);\n  for (const auto& arg : args) {\n    if (arg == "
    "\"--help\") return 0;\n  }\n  return 1;\n}\n",
    "def fibonacci(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b "
    "= 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\nif __name__ == "
    "\"__main__\":\n    print([fibonacci(i) for i in range(20)])\n",
    "const express = require('express');\nconst app = express();\n\napp.get('/api/v1/items/:id',"
    " async (req, res) => {\n\tconst item = await db.find({ id: req.params.id });\n\tif (!item) "
    "return res.status(404).json({ error: `not found: ${req.params.id}` });\n\tres.json(item);\n"
    "});\n",
    "fn main() {\n    let mut counts: HashMap<&str, usize> = HashMap::new();\n    for word in "
    "text.split_whitespace() {\n        *counts.entry(word).or_insert(0) += 1;\n    }\n    "
    "println!(\"{:?}\", counts);\n}\n",
    "SELECT u.id, u.name, COUNT(o.id) AS orders\nFROM users u\nLEFT JOIN orders o ON o.user_id = "
    "u.id\nWHERE u.created_at >= '2024-01-01'\nGROUP BY u.id, u.name\nHAVING COUNT(o.id) > 3\n"
    "ORDER BY orders DESC;\n",
    "{\n  \"model\": \"qwen2-vl-7b\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": "
    "\"What happened at 12:03?\"}\n  ],\n  \"max_tokens\": 256,\n  \"temperature\": 0.7,\n  "
    "\"stream\": true\n}\n",
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in \"$@\"; do\n  if [[ -f \"$f\" ]]; then\n    "
    "sha256sum \"$f\" | awk '{print $1}' >> checksums.txt\n  fi\ndone\necho \"done: $#\" >&2\n",
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Dashboard</title>"
    "</head>\n<body>\n  <div class=\"grid\" id='main'>&nbsp;&lt;video&gt;</div>\n  <script>"
    "document.querySelector('#main').onclick = () => alert(1);</script>\n</body>\n</html>\n",
    "template <typename T>\nclass RingBuffer {\n public:\n  explicit RingBuffer(size_t capacity)"
    " : data_(capacity) {}\n  bool push(T value) {\n    if (size_ == data_.size()) return false;"
    "\n    data_[(head_ + size_++) % data_.size()] = std::move(value);\n    return true;\n  }\n\n"
    " private:\n  std::vector<T> data_;\n  size_t head_ = 0, size_ = 0;\n};\n",
    "x = np.linspace(0, 2 * np.pi, 1000)\ny = np.sin(x) ** 2 + 0.5 * np.cos(3 * x)\nplt.plot(x,"
    " y, 'r--', label=r'$\\sin^2(x)$')\nplt.legend(); plt.savefig(\"out.png\", dpi=300)\n",
    "if (a != b && c <= d || e >= f) { x += 1; y -= 2; z *= 3; w /= 4; v %= 5; u <<= 1; t >>= 2;"
    " s ^= 0xFF; r |= 0b1010; q &= ~0x0F; }\n// TODO(vigil): handle the EOF case!!!\n/* block "
    "comment *** with stars */\n",
    "diff --git a/src/main.c b/src/main.c\n@@ -10,7 +10,7 @@\n-    return -1;\n+    return 0;"
    "\r\n     }\r\n",
};

const std::vector<std::string> kChinese = {
    "视频理解是一个困难的问题：模型必须记住几个小时之前发生的事情，并且能够在不到一秒钟的时间内回答"
    "问题。",
    "今天天气很好，我们去公园散步吧。公园里有很多人在跑步、打太极拳和放风筝。",
    "北京是中华人民共和国的首都，也是全国的政治、文化和国际交往中心。",
    "这台摄像机在第四层，它记录了卸货区的门在下午六点四十五分之后一直开着。",
    "人工智能（AI）正在改变我们的生活方式——从语音助手到自动驾驶汽车。",
    "《红楼梦》是中国古典四大名著之一，作者是曹雪芹。",
};
const std::vector<std::string> kJapanese = {
    "東京は日本の首都であり、世界で最も人口の多い都市圏の一つです。",
    "カメラが夜の駐車場で不審な人物を検出しました。すぐに確認してください！",
    "私はコーヒーが好きですが、紅茶も時々飲みます。ありがとうございました。",
    "ｶﾀｶﾅの半角文字と、全角のＡＢＣや１２３も混ざっています。",
};
const std::vector<std::string> kKorean = {
    "안녕하세요, 저는 비디오 분석 시스템입니다. 무엇을 도와드릴까요?",
    "서울은 대한민국의 수도이며 한강이 도시를 가로질러 흐릅니다.",
    "오늘 오후 3시에 회의가 있습니다. 늦지 마세요!",
};
const std::vector<std::string> kArabic = {
    "مرحبا بالعالم! هذا نظام لفهم الفيديو في الوقت الحقيقي.",
    "اللغة العربية هي إحدى أكثر اللغات انتشاراً في العالم، ويتحدثها أكثر من ٤٠٠ مليون شخص.",
    "الكاميرا رقم ١٢ سجلت حركة غير عادية عند الساعة ٣:٤٥ صباحاً؛ يرجى المراجعة.",
    "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ",
    "هل يمكنك أن تخبرني متى غادرت الشاحنة الحمراء؟",
    "فارسی: این یک آزمایش است با اعداد ۱۲۳۴۵۶۷۸۹۰.",
};
const std::vector<std::string> kHindi = {
    "नमस्ते दुनिया! यह एक वीडियो समझने वाली प्रणाली है।",
    "भारत एक विशाल देश है जिसकी जनसंख्या लगभग १४० करोड़ है।",
    "कैमरा संख्या ७ ने रात के समय पार्किंग में किसी व्यक्ति को देखा।",
    "क्या आप मुझे बता सकते हैं कि लाल ट्रक कब निकला?",
    "हिन्दी, संस्कृत और मराठी देवनागरी लिपि में लिखी जाती हैं। ज़िंदगी, फ़िल्म, क़लम।",
};

const std::vector<std::string> kEmoji = {
    "😀",
    "😂",
    "🥲",
    "❤️",
    "❤",
    "👍",
    "👍🏽",
    "👋🏿",
    "🙏",
    "🔥",
    "✨",
    "🎉",
    "🚀",
    "🤖",
    "🧠",
    "📹",
    "👨‍👩‍👧‍👦",
    "👩🏽‍💻",
    "🏳️‍🌈",
    "🏳️‍⚧️",
    "🧑‍🤝‍🧑",
    "👁️‍🗨️",
    "❤️‍🔥",
    "🐕‍🦺",
    "🇯🇵",
    "🇺🇸",
    "🇪🇺",
    "🇮🇳",
    "#️⃣",
    "1️⃣",
    "9️⃣",
    "*️⃣",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "🏴󠁧󠁢󠁥󠁮󠁧󠁿",
    "☺️",
    "☺",
    "✌🏻",
    "🫠",
    "🫨",
    "🪿",
    "🩷",
    "🧑🏾‍🦰",
    "👩‍❤️‍💋‍👨",
    "🤷‍♂️",
    "🤦🏼‍♀️",
    "⌚",
    "©️",
    "®",
    "™️",
    "🀄",
    "🃏",
};
// Emoji that utf8proc's Unicode 15.0 does not know (16.0): other symbols on both sides all the
// same, so they are safe to compare.
const std::vector<std::string> kNewerEmoji = {"\U0001FAE9", "\U0001FABE", "\U0001FADF",
                                              "\U0001FA89"};

const std::vector<std::string> kAddedTokens = {
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
};
const std::vector<std::string> kNearMisses = {
    "<|im_start",
    "<|im_start|",
    "im_start|>",
    "<|IM_START|>",
    "< |im_end|>",
    "<|im end|>",
    "<|endoftext|",
    "<||>",
    "<|",
    "|>",
    "<think",
    "</think",
    "<thinking>",
    "<tool_call",
    "<|vision_start|>>",
    "<<|im_end|>>",
    "<|im_start|><|im_start|>",
    "<|im_end|>|>",
    "<",
};

const std::vector<std::string> kWhitespace = {
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    " \n",
    "\n ",
    "\t\t",
    "\v",
    "\f",
    "\xC2\xA0",
    "\xE3\x80\x80",
    "\xE2\x80\xA8",
    "\xE2\x80\xA9",
    "\xC2\x85",
    "\xE2\x80\x83",
    "\xE2\x80\xAF",
    "\xE2\x81\x9F",
    "\xE1\x9A\x80",
    "\xE2\x80\x8B",
    "\xEF\xBB\xBF",
    "\x1C",
    "\x1F",
};

// ---- generators -----------------------------------------------------------------------

std::string random_word(Random& random) {
  std::string word = random.pick(kWords);
  if (random.chance(0.1) && !word.empty() && word[0] >= 'a' && word[0] <= 'z') word[0] -= 32;
  if (random.chance(0.03)) {
    for (char& c : word) {
      if (c >= 'a' && c <= 'z') c -= 32;
    }
  }
  return word;
}

std::string make_sentence(Random& random) {
  std::string sentence;
  const size_t words = random.between(3, 18);
  for (size_t i = 0; i < words; ++i) {
    if (i > 0) sentence += random.chance(0.08) ? ", " : " ";
    std::string word = random_word(random);
    if (i == 0 && word[0] >= 'a' && word[0] <= 'z') word[0] -= 32;
    sentence += word;
    if (random.chance(0.05)) sentence += random.pick(std::vector<std::string>{"'s", "'ll", "n't"});
  }
  sentence += random.pick(std::vector<std::string>{".", ".", ".", "!", "?", "...", ";", ":"});
  return sentence;
}

std::string make_prose(Random& random) {
  if (random.chance(0.4)) return slice(random, random.pick(kProse), 10, 200);
  std::string text;
  const size_t sentences = random.between(1, 5);
  for (size_t i = 0; i < sentences; ++i) {
    if (i > 0) text += random.chance(0.15) ? "\n\n" : " ";
    text += random.chance(0.5) ? make_sentence(random) : random.pick(kProse);
  }
  return text;
}

std::string make_code(Random& random) {
  std::string code = random.pick(kCode);
  if (random.chance(0.2)) {  // tabs for indentation
    std::string tabbed;
    for (size_t i = 0; i < code.size(); ++i) {
      if (code.compare(i, 4, "    ") == 0) {
        tabbed += '\t';
        i += 3;
      } else {
        tabbed += code[i];
      }
    }
    code = tabbed;
  }
  if (random.chance(0.15)) {  // CRLF line endings
    std::string crlf;
    for (const char c : code) {
      if (c == '\n') crlf += '\r';
      crlf += c;
    }
    code = crlf;
  }
  if (random.chance(0.6)) code = slice(random, code, 5, 300);
  if (random.chance(0.1)) code += std::string(random.between(1, 40), ' ');
  return code;
}

std::string random_code_point_run(Random& random, char32_t first, char32_t last, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    char32_t c = static_cast<char32_t>(first + random.below(last - first + 1));
    if (is_assigned(c)) append_utf8(c, out);
  }
  return out;
}

std::string make_cjk(Random& random) {
  switch (random.below(8)) {
    case 0:
      return random.pick(kChinese);
    case 1:
      return random.pick(kJapanese);
    case 2:
      return random.pick(kKorean);
    case 3:  // a long run without punctuation: one pre-token, merged on the long path
      return random_code_point_run(random, 0x4E00, 0x9FA5, random.between(20, 200));
    case 4: {  // kana and kanji with full-width punctuation and digits
      std::string text;
      const size_t parts = random.between(2, 8);
      for (size_t i = 0; i < parts; ++i) {
        text += random_code_point_run(random, 0x3041, 0x3096, random.between(1, 6));
        text += random_code_point_run(random, 0x4E00, 0x9FA5, random.between(1, 4));
        text += random.pick(std::vector<std::string>{"。", "、", "！", "？", "「", "」", "（", "）",
                                                     "１２３", "ＡＢＣ", " ", "・"});
      }
      return text;
    }
    case 5:  // Hangul syllables
      return random_code_point_run(random, 0xAC00, 0xD7A3, random.between(3, 30)) + " " +
             random_code_point_run(random, 0xAC00, 0xD7A3, random.between(1, 10));
    case 6:  // supplementary ideographs (extension B) and compatibility ideographs (NFC maps)
      return random_code_point_run(random, 0x20000, 0x2A6DF, random.between(1, 12)) +
             random_code_point_run(random, 0xF900, 0xFAD9, random.between(1, 6));
    default: {
      std::string text = slice(random, random.pick(kChinese), 6, 60);
      text += random.chance(0.5) ? " and English " : "，";
      text += slice(random, random.pick(kJapanese), 6, 60);
      return text;
    }
  }
}

std::string make_arabic(Random& random) {
  if (random.chance(0.5)) return random.pick(kArabic);
  std::string text;
  const size_t words = random.between(2, 12);
  for (size_t i = 0; i < words; ++i) {
    if (i > 0) text += random.chance(0.1) ? "، " : " ";
    text += random_code_point_run(random, 0x0627, 0x064A, random.between(2, 7));
    if (random.chance(0.3)) text += random_code_point_run(random, 0x064B, 0x0652, 1);  // harakat
    if (random.chance(0.1)) text += random_code_point_run(random, 0x0660, 0x0669, 3);  // digits
    if (random.chance(0.05)) text += "\xD9\x80";                                       // tatweel
    if (random.chance(0.05)) text += "\xE2\x80\x8F";                                   // RLM
  }
  text += random.pick(std::vector<std::string>{".", "؟", "!", "؛", ""});
  return text;
}

std::string make_hindi(Random& random) {
  if (random.chance(0.5)) return random.pick(kHindi);
  std::string text;
  const size_t words = random.between(2, 12);
  for (size_t i = 0; i < words; ++i) {
    if (i > 0) text += " ";
    const size_t syllables = random.between(1, 4);
    for (size_t s = 0; s < syllables; ++s) {
      text += random_code_point_run(random, 0x0915, 0x0939, 1);  // consonant
      if (random.chance(0.2)) text += "\xE0\xA4\xBC";            // nukta
      if (random.chance(0.5)) text += random_code_point_run(random, 0x093E, 0x094C, 1);  // matra
      if (random.chance(0.1)) text += "\xE0\xA5\x8D";                                    // virama
      if (random.chance(0.1)) text += "\xE0\xA4\x82";                                    // anusvara
    }
    if (random.chance(0.1)) text += random_code_point_run(random, 0x0966, 0x096F, 2);  // digits
  }
  text += random.pick(std::vector<std::string>{"।", "?", "", "॥"});
  return text;
}

std::string make_emoji(Random& random) {
  std::string text;
  const size_t count = random.between(1, 10);
  for (size_t i = 0; i < count; ++i) {
    if (random.chance(0.3)) text += random.pick(std::vector<std::string>{" ", "", "\n", "!", "a"});
    text += random.chance(0.04) ? random.pick(kNewerEmoji) : random.pick(kEmoji);
    if (random.chance(0.2)) text += make_sentence(random);
  }
  return text;
}

std::string make_digits(Random& random) {
  switch (random.below(7)) {
    case 0: {
      std::string digits;
      const size_t length = random.between(10, 400);
      for (size_t i = 0; i < length; ++i) digits += static_cast<char>('0' + random.below(10));
      return digits;
    }
    case 1: {
      char buffer[96];
      std::snprintf(
          buffer, sizeof buffer, "%llu,%03u,%03u.%02u and %u%% of $%llu.%02u",
          static_cast<unsigned long long>(random.below(1000)),
          static_cast<unsigned>(random.below(1000)), static_cast<unsigned>(random.below(1000)),
          static_cast<unsigned>(random.below(100)), static_cast<unsigned>(random.below(101)),
          static_cast<unsigned long long>(random.next() % 100000000ULL),
          static_cast<unsigned>(random.below(100)));
      return buffer;
    }
    case 2: {
      char buffer[96];
      std::snprintf(
          buffer, sizeof buffer, "+1 (%03u) %03u-%04u, 0x%08llX, v%u.%u.%u, %u.%ue-%u",
          static_cast<unsigned>(random.below(1000)), static_cast<unsigned>(random.below(1000)),
          static_cast<unsigned>(random.below(10000)),
          static_cast<unsigned long long>(random.next() & 0xFFFFFFFFULL),
          static_cast<unsigned>(random.below(20)), static_cast<unsigned>(random.below(50)),
          static_cast<unsigned>(random.below(200)), static_cast<unsigned>(random.below(10)),
          static_cast<unsigned>(random.below(1000)), static_cast<unsigned>(random.below(300)));
      return buffer;
    }
    case 3:  // digits of other scripts, superscripts, fractions, Roman numerals, circled
      return random.pick(std::vector<std::string>{"٣٤٥", "۱۲۳", "३४५६", "๑๒๓", "１２３４",
                                                  "x²+y³=z¹", "½ ¼ ¾ ⅓", "Ⅻ ⅻ Ⅳ", "①②③", "𝟘𝟙𝟚𝟛",
                                                  "᠑᠒", "߁߂߃"}) +
             std::to_string(random.below(100000));
    case 4: {  // digits glued to letters
      std::string text = random_word(random);
      text += std::to_string(random.next() % 1000000000ULL);
      text += random_word(random);
      return text;
    }
    case 5: {  // dates and times
      char buffer[64];
      std::snprintf(
          buffer, sizeof buffer, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
          static_cast<unsigned>(1900 + random.below(200)),
          static_cast<unsigned>(1 + random.below(12)), static_cast<unsigned>(1 + random.below(28)),
          static_cast<unsigned>(random.below(24)), static_cast<unsigned>(random.below(60)),
          static_cast<unsigned>(random.below(60)), static_cast<unsigned>(random.below(1000)));
      return buffer;
    }
    default: {
      std::string text;
      const size_t groups = random.between(2, 20);
      for (size_t i = 0; i < groups; ++i) {
        text += std::to_string(random.next() % 100000ULL);
        text += random.pick(std::vector<std::string>{" ", ",", ".", "-", "/", ":", "\n", ""});
      }
      return text;
    }
  }
}

std::string make_whitespace(Random& random) {
  std::string text;
  const size_t parts = random.between(1, 8);
  for (size_t i = 0; i < parts; ++i) {
    switch (random.below(5)) {
      case 0:
        text += std::string(random.between(1, 300), ' ');
        break;
      case 1:
        for (size_t k = random.between(1, 20); k > 0; --k) text += random.pick(kWhitespace);
        break;
      case 2:
        text += std::string(random.between(1, 12), random.chance(0.5) ? '\n' : '\t');
        break;
      case 3:
        text += random_word(random);
        break;
      default:
        text += random.pick(
            std::vector<std::string>{"(", ")", "{", "}", "-", "x", "1", "中", "😀", "'s", ".", ""});
        break;
    }
  }
  return text;
}

std::string make_special(Random& random) {
  if (random.chance(0.25)) {  // a chat as the template renders it
    std::string chat = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n";
    const size_t turns = random.between(1, 3);
    for (size_t i = 0; i < turns; ++i) {
      chat += "<|im_start|>user\n";
      if (random.chance(0.5)) chat += "<|vision_start|><|video_pad|><|video_pad|><|vision_end|>";
      chat += make_sentence(random) + "<|im_end|>\n<|im_start|>assistant\n";
      if (random.chance(0.5)) chat += "<think>\n" + make_sentence(random) + "\n</think>\n\n";
      chat += make_sentence(random) + "<|im_end|>\n";
    }
    return chat;
  }
  std::string text;
  const size_t parts = random.between(1, 8);
  for (size_t i = 0; i < parts; ++i) {
    switch (random.below(4)) {
      case 0:
        text += random.pick(kAddedTokens);
        break;
      case 1:
        text += random.pick(kNearMisses);
        break;
      case 2:
        text += random_word(random);
        break;
      default:
        text += random.pick(
            std::vector<std::string>{" ", "\n", "", "  ", "x", "1", "中文", "!", "<", ">", "|"});
        break;
    }
  }
  return text;
}

std::string make_invalid_utf8(Random& random) {
  static const std::vector<std::string> kBad = {
      "\x80",
      "\xBF",
      "\xC0\xAF",
      "\xC1\xBF",
      "\xE0\x80\xAF",
      "\xF0\x80\x80\xAF",
      "\xED\xA0\x80",
      "\xED\xBF\xBF",
      "\xED\xA0\xBD\xED\xB8\x80",
      "\xF4\x90\x80\x80",
      "\xF5\x80\x80\x80",
      "\xFE",
      "\xFF",
      "\xFE\xFF",
      "\xF8\x88\x80\x80\x80",
      "\xE4\xBD",
      "\xE4",
      "\xF0\x9F\x98",
      "\xF0\x9F",
      "\xC3",
      "\xE2\x82",
      "caf\xE9",
      "\xC3\x28",
      "\xE2\x28\xA1",
      "\xF0\x28\x8C\xBC",
      "\xF0\x90\x28\xBC",
      "\x80\x80\x80",
      "\xC2\xC2\xA0",
  };
  if (random.chance(0.15)) {  // random bytes
    std::string bytes;
    for (size_t n = random.between(1, 40); n > 0; --n)
      bytes += static_cast<char>(random.below(256));
    return bytes;
  }
  std::string text;
  const size_t parts = random.between(1, 6);
  for (size_t i = 0; i < parts; ++i) {
    switch (random.below(4)) {
      case 0:
      case 1:
        text += random.pick(kBad);
        break;
      case 2:
        text += random.chance(0.5) ? random_word(random) : random.pick(kChinese).substr(0, 7);
        break;
      default:
        text += random.pick(std::vector<std::string>{" ", "<|im_end|>", "\n", "😀", "1", "'s"});
        break;
    }
  }
  return text;
}

std::string make_decomposed(Random& random) {
  static const std::vector<std::string> kDecomposed = {
      "e\xCC\x81",
      "a\xCC\x80",
      "o\xCC\x88",
      "n\xCC\x83",
      "c\xCC\xA7",
      "A\xCC\x8A",
      "\xE2\x84\xAB",
      "\xE2\x84\xA6",
      "\xE2\x84\xAA",  // Å, Ω, K signs
      "a\xCC\xA3\xCC\x82",
      "a\xCC\x82\xCC\xA3",  // order of marks
      "e\xCC\x82\xCC\x81",
      "u\xCC\x9B\xCC\x83",                     // Vietnamese
      "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB",  // 한 from jamo
      "\xE1\x84\x80\xE1\x85\xA1",              // 가 from jamo
      "\xEA\xB0\x80\xE1\x86\xA8",              // 가 + ᆨ -> 각
      "\xE0\xA4\xA8\xE0\xA4\xBC",              // न + ़ -> ऩ
      "\xE0\xA4\x95\xE0\xA4\xBC",              // क + ़ stays (excluded)
      "\xE0\xA5\x98",                          // क़ -> क + ़
      "\xD7\xA9\xD7\x82\xD6\xBC",              // Hebrew marks reordered
      "\xCD\x84",
      "\xCD\xB4",
      "\xCE\x85",  // singletons, composites
      "\xEF\xA4\x80",
      "\xEF\xA8\x8E",  // CJK compatibility
      "i\xCC\x87\xCC\x81",
      "\xCC\x81\xCC\x81",          // marks with no base
      "\xE0\xAD\x87\xE0\xAC\xBE",  // Oriya two-part vowel
      "\xE0\xAF\x86\xE0\xAE\xBE",  // Tamil two-part vowel
  };
  std::string text;
  const size_t parts = random.between(1, 8);
  for (size_t i = 0; i < parts; ++i) {
    if (random.chance(0.6)) {
      text += random.pick(kDecomposed);
    } else if (random.chance(0.5)) {
      text += random_code_point_run(random, 'a', 'z', random.between(1, 4));
      text += random_code_point_run(random, 0x0300, 0x036F, random.between(1, 3));
    } else {
      text += random.pick(std::vector<std::string>{
          " ", "", "Tie\xCC\x82\xCC\x81ng Vie\xCC\xA3\xCC\x82t", "Cafe\xCC\x81", "1", "\n"});
    }
  }
  return text;
}

std::string make_contractions(Random& random) {
  static const std::vector<std::string> kForms = {
      "'s",  "'t",  "'re", "'ve", "'m",  "'ll",    "'d", "'S",  "'T", "'RE",
      "'Re", "'rE", "'VE", "'M",  "'LL", "'Ll",    "'D", "'x",  "'",  "''",
      "'r",  "'l",  "'v",  "'sa", "'ss", "'llama", "’s", "’ll", "'ſ", "'\xE2\x84\xAA",
      "'ſt", "' s", "'1",  "'\n",
  };
  std::string text;
  const size_t parts = random.between(1, 6);
  for (size_t i = 0; i < parts; ++i) {
    if (random.chance(0.5)) text += random_word(random);
    text += random.pick(kForms);
    if (random.chance(0.4)) text += " ";
  }
  return text;
}

std::string make_random_code_points(Random& random) {
  std::string text;
  const size_t count = random.between(1, 40);
  for (size_t i = 0; i < count; ++i) {
    char32_t c;
    do {
      const size_t plane_choice = random.below(10);
      if (plane_choice < 7) {
        c = static_cast<char32_t>(random.below(0x10000));
      } else if (plane_choice < 9) {
        c = static_cast<char32_t>(0x10000 + random.below(0x20000));
      } else {
        c = static_cast<char32_t>(0x30000 + random.below(0xE0000));
      }
    } while (!is_assigned(c));
    append_utf8(c, text);
  }
  return text;
}

std::string make_long(Random& random) {
  switch (random.below(5)) {
    case 0:
      return std::string(random.between(65, 3000),
                         random.pick(std::vector<char>{'=', '-', '#', 'a', '*', '.'}));
    case 1: {
      std::string base64;
      static const char kAlphabet[] =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      for (size_t n = random.between(65, 2000); n > 0; --n) base64 += kAlphabet[random.below(64)];
      return base64;
    }
    case 2:
      return random_code_point_run(random, 0x4E00, 0x9FA5, random.between(100, 1000));
    case 3: {
      std::string text;
      for (size_t n = random.between(2, 40); n > 0; --n) text += make_prose(random) + "\n";
      return text;
    }
    default: {
      std::string word;
      for (size_t n = random.between(30, 300); n > 0; --n) {
        word += static_cast<char>('a' + random.below(26));
      }
      return word;
    }
  }
}

std::string make_mixed(Random& random);

struct Generator {
  const char* kind;
  double share;
  std::function<std::string(Random&)> make;
};

const std::vector<Generator>& generators() {
  static const std::vector<Generator> kGenerators = {
      {"prose", 0.12, make_prose},
      {"code", 0.12, make_code},
      {"cjk", 0.10, make_cjk},
      {"arabic", 0.05, make_arabic},
      {"hindi", 0.05, make_hindi},
      {"emoji", 0.07, make_emoji},
      {"digits", 0.07, make_digits},
      {"whitespace", 0.08, make_whitespace},
      {"special_tokens", 0.08, make_special},
      {"invalid_utf8", 0.07, make_invalid_utf8},
      {"decomposed", 0.05, make_decomposed},
      {"contractions", 0.03, make_contractions},
      {"random_code_points", 0.04, make_random_code_points},
      {"long", 0.02, make_long},
      {"mixed", 0.05, make_mixed},
  };
  return kGenerators;
}

std::string make_mixed(Random& random) {
  std::string text;
  const size_t parts = random.between(2, 5);
  for (size_t i = 0; i < parts; ++i) {
    const Generator& generator = generators()[random.below(generators().size() - 2)];
    text += generator.make(random);
    if (random.chance(0.5)) text += random.pick(kWhitespace);
  }
  return text;
}

}  // namespace

std::vector<std::pair<std::string, double>> tokenizer_corpus_kinds() {
  std::vector<std::pair<std::string, double>> kinds;
  for (const Generator& generator : generators())
    kinds.emplace_back(generator.kind, generator.share);
  return kinds;
}

std::vector<CorpusEntry> make_tokenizer_corpus(uint64_t seed, size_t minimum_count) {
  Random random(seed);
  std::vector<CorpusEntry> corpus;
  corpus.reserve(minimum_count + generators().size() + 16);
  // Edge cases first, once each.
  for (const std::string& text : {std::string(), std::string(" "), std::string("\n"),
                                  std::string("a"), std::string("'"), std::string("<|im_start|>"),
                                  std::string("\xEF\xBB\xBF"
                                              "BOM"),
                                  std::string(1, '\0'), std::string("\xFF"), utf8_of({0x10FFFF}),
                                  utf8_of({0xFFFD}), utf8_of({0xFFFE})}) {
    corpus.push_back({"edge", text});
  }
  for (const Generator& generator : generators()) {
    const auto count =
        static_cast<size_t>(generator.share * static_cast<double>(minimum_count) + 1);
    for (size_t i = 0; i < count; ++i) corpus.push_back({generator.kind, generator.make(random)});
  }
  return corpus;
}

std::string escape_bytes(const std::string& text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\r') {
      out += "\\r";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (byte == '\\') {
      out += "\\\\";
    } else if (byte >= 0x20 && byte < 0x7F) {
      out += static_cast<char>(byte);
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02X", byte);
      out += buffer;
    }
  }
  if (text.size() > max_bytes) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace vigil::testing
