#include "api/chat_request.h"

#include "api/api_error.h"

namespace vigil::api {
namespace {

using Json = nlohmann::ordered_json;

ApiError bad(const std::string& param, const std::string& message) {
  return ApiError(400, "invalid_request", message, param);
}

std::optional<double> optional_seconds(const Json& object, const char* key,
                                       const std::string& where) {
  if (!object.contains(key) || object[key].is_null()) return std::nullopt;
  if (!object[key].is_number() || object[key].get<double>() < 0) {
    throw bad(where + "." + key, where + "." + key + " must be a number of seconds >= 0");
  }
  return object[key].get<double>();
}

}  // namespace

std::string session_id_of_video_url(const std::string& url) {
  for (const char* prefix : {"vigil://files/", "vigil://streams/"}) {
    const std::string p = prefix;
    if (url.rfind(p, 0) == 0) return url.substr(p.size());
  }
  if (url.find("://") != std::string::npos) return "";
  return url;
}

ChatRequest parse_chat_request(const std::string& body, int max_tokens_limit) {
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    throw ApiError(400, "invalid_json", "the request body is not valid JSON");
  }
  if (!json.is_object())
    throw ApiError(400, "invalid_json", "the request body must be a JSON object");
  ChatRequest request;
  service::AnswerRequest& answer = request.answer;

  if (json.contains("model")) {
    if (!json["model"].is_string()) throw bad("model", "model must be a string");
    request.model = json["model"].get<std::string>();
  }
  if (!json.contains("messages")) throw bad("messages", "messages is required");
  if (!json["messages"].is_array() || json["messages"].empty()) {
    throw bad("messages", "messages must be a non-empty array");
  }
  size_t index = 0;
  for (const Json& message : json["messages"]) {
    const std::string where = "messages[" + std::to_string(index++) + "]";
    if (!message.is_object()) throw bad(where, where + " must be an object");
    if (!message.contains("role") || !message["role"].is_string()) {
      throw bad(where + ".role", where + ".role must be a string");
    }
    const std::string role = message["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "developer" &&
        role != "tool") {
      throw bad(where + ".role",
                where + ".role must be system, developer, user, assistant or tool");
    }
    Json copy = message;
    if (role == "developer") copy["role"] = "system";
    const Json content = message.contains("content") ? message["content"] : Json();
    if (content.is_array()) {
      size_t part_index = 0;
      for (const Json& part : content) {
        const std::string part_where = where + ".content[" + std::to_string(part_index++) + "]";
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
          throw bad(part_where, part_where + " must be an object with a string type");
        }
        const std::string type = part["type"].get<std::string>();
        if (type == "text") {
          if (!part.contains("text") || !part["text"].is_string()) {
            throw bad(part_where + ".text", part_where + ".text must be a string");
          }
        } else if (type == "video_url") {
          if (!part.contains("video_url")) {
            throw bad(part_where + ".video_url", part_where + ".video_url is required");
          }
          const Json& video = part["video_url"];
          VideoPart video_part;
          if (video.is_string()) {
            video_part.url = video.get<std::string>();
          } else if (video.is_object() && video.contains("url") && video["url"].is_string()) {
            video_part.url = video["url"].get<std::string>();
            const std::string video_where = part_where + ".video_url";
            video_part.start_seconds = optional_seconds(video, "start_seconds", video_where);
            video_part.end_seconds = optional_seconds(video, "end_seconds", video_where);
            if (video_part.start_seconds && video_part.end_seconds &&
                *video_part.end_seconds <= *video_part.start_seconds) {
              throw bad(video_where + ".end_seconds",
                        video_where + ".end_seconds must be after start_seconds");
            }
          } else {
            throw bad(part_where + ".video_url",
                      part_where + ".video_url must be {\"url\": string} or a string");
          }
          if (video_part.url.empty()) {
            throw bad(part_where + ".video_url.url", part_where + ".video_url.url is empty");
          }
          request.video_parts.push_back(std::move(video_part));
        } else if (type == "image_url" || type == "input_audio" || type == "file") {
          throw bad(part_where + ".type", "content parts of type '" + type +
                                              "' are not supported; use text and video_url");
        } else {
          throw bad(part_where + ".type", "unknown content part type '" + type + "'");
        }
      }
    } else if (!content.is_string() && !(content.is_null() && role == "assistant")) {
      throw bad(where + ".content", where + ".content must be a string or an array of parts");
    }
    answer.messages.push_back(std::move(copy));
  }

  if (json.contains("stream") && !json["stream"].is_null()) {
    if (!json["stream"].is_boolean()) throw bad("stream", "stream must be a boolean");
    request.stream = json["stream"].get<bool>();
  }
  if (json.contains("stream_options") && json["stream_options"].is_object() &&
      json["stream_options"].contains("include_usage")) {
    const Json& include = json["stream_options"]["include_usage"];
    if (!include.is_boolean()) {
      throw bad("stream_options.include_usage", "stream_options.include_usage must be a boolean");
    }
    request.include_usage = include.get<bool>();
  }
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (!json.contains(key) || json[key].is_null()) continue;
    if (!json[key].is_number_integer() || json[key].get<int64_t>() < 1 ||
        json[key].get<int64_t>() > max_tokens_limit) {
      throw bad(key,
                std::string(key) + " must be an integer 1.." + std::to_string(max_tokens_limit));
    }
    answer.max_tokens = static_cast<int>(json[key].get<int64_t>());
    break;
  }
  if (json.contains("temperature") && !json["temperature"].is_null()) {
    if (!json["temperature"].is_number() || json["temperature"].get<double>() < 0 ||
        json["temperature"].get<double>() > 2) {
      throw bad("temperature", "temperature must be a number 0..2");
    }
    answer.temperature = json["temperature"].get<double>();
  }
  if (json.contains("top_p") && !json["top_p"].is_null()) {
    if (!json["top_p"].is_number() || json["top_p"].get<double>() <= 0 ||
        json["top_p"].get<double>() > 1) {
      throw bad("top_p", "top_p must be a number in (0, 1]");
    }
    answer.top_p = json["top_p"].get<double>();
  }
  if (json.contains("seed") && !json["seed"].is_null()) {
    if (!json["seed"].is_number_integer()) throw bad("seed", "seed must be an integer");
    answer.seed = static_cast<uint64_t>(json["seed"].get<int64_t>());
  }
  if (json.contains("n") && !json["n"].is_null() &&
      !(json["n"].is_number_integer() && json["n"].get<int64_t>() == 1)) {
    throw bad("n", "only n = 1 is supported");
  }
  if (json.contains("stop") && !json["stop"].is_null()) {
    const Json& stop = json["stop"];
    if (stop.is_string()) {
      answer.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array() && stop.size() <= 4) {
      for (const Json& item : stop) {
        if (!item.is_string() || item.get<std::string>().empty()) {
          throw bad("stop", "stop must be a string or up to 4 non-empty strings");
        }
        answer.stop.push_back(item.get<std::string>());
      }
    } else {
      throw bad("stop", "stop must be a string or up to 4 non-empty strings");
    }
  }
  return request;
}

}  // namespace vigil::api
