// Takes the video out of a multipart/form-data upload that was written to a file: finds the
// part named "file" and copies its bytes to their own file, without holding the upload in
// memory (the upload is memory-mapped).
#pragma once

#include <map>
#include <string>

namespace vigil::api {

struct MultipartUpload {
  std::string filename;                       // the file part's filename="..."
  std::string content_type;                   // the file part's Content-Type
  int64_t bytes = 0;                          // of the extracted file
  std::map<std::string, std::string> fields;  // the other (small) parts' values
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type; throws ApiError(400).
std::string multipart_boundary(const std::string& content_type);

// Reads body_path (a complete multipart body with boundary), writes the "file" part's bytes
// to output_path. Throws ApiError(400) when the body is malformed or has no file part.
MultipartUpload extract_multipart_file(const std::string& body_path, const std::string& boundary,
                                       const std::string& output_path);

}  // namespace vigil::api
