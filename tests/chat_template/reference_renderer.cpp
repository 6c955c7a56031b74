#include "tests/chat_template/reference_renderer.h"

#include <fstream>
#include <stdexcept>

#include "tests/support/test_support.h"

namespace vigil::testing::chat {
namespace {

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

}  // namespace

std::string js_root() {
  return std::string(VIGIL_SOURCE_DIR) + "/tools/js";
}
std::string fixtures_dir() {
  return std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/chat_templates";
}

std::string missing_reference() {
  if (run_command("command -v node >/dev/null 2>&1").exit_code != 0) {
    return "node is not installed: run tools/install_deps.sh, then tools/js/install.sh";
  }
  const std::string package = js_root() + "/node_modules/@huggingface/jinja/package.json";
  if (!file_exists(package)) return package + " is missing: run tools/js/install.sh";
  return "";
}

std::vector<ReferenceResult> render_with_reference(const std::vector<ReferenceCase>& cases) {
  TempDir dir;
  {
    nlohmann::ordered_json request;
    request["cases"] = nlohmann::ordered_json::array();
    for (const ReferenceCase& c : cases) {
      request["cases"].push_back({{"template", c.template_source}, {"variables", c.variables}});
    }
    std::ofstream(dir.file("request.json")) << request.dump();
  }
  const std::string command =
      "node " +
      shell_quote(std::string(VIGIL_SOURCE_DIR) + "/tests/chat_template/render_reference.mjs") +
      " " + shell_quote(js_root()) + " " + shell_quote(dir.file("request.json")) + " " +
      shell_quote(dir.file("response.json"));
  const CommandResult result = run_command(command);
  if (result.exit_code != 0) throw std::runtime_error("the reference renderer failed: " + command);
  std::ifstream response_file(dir.file("response.json"));
  const nlohmann::json response = nlohmann::json::parse(response_file);
  const nlohmann::json& results = response.at("results");
  if (results.size() != cases.size())
    throw std::runtime_error("the reference renderer returned too few results");
  std::vector<ReferenceResult> out;
  for (const nlohmann::json& r : results) {
    ReferenceResult item;
    item.ok = r.at("ok").get<bool>();
    if (item.ok) {
      item.text = from_hex(r.at("text_hex").get<std::string>());
    } else {
      item.error = r.at("error").get<std::string>();
    }
    out.push_back(std::move(item));
  }
  return out;
}

std::string escape_for_report(const std::string& text) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kDigits[byte >> 4];
      out += kDigits[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace vigil::testing::chat
