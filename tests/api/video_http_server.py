#!/usr/bin/env python3
"""A static file server for the end-to-end tests: serves DIR on 127.0.0.1:PORT with byte
ranges (so FFmpeg sees a seekable archive), and appends one line per GET or HEAD to LOG
("GET /path range") so that tests can count what the server under test downloaded.

usage: video_http_server.py DIR PORT LOG
"""
import http.server
import os
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()

    def log_message(self, format, *args):
        pass

    def note(self, method):
        with Handler.lock, open(self.server.log_path, "a") as log:
            log.write(f"{method} {self.path} {self.headers.get('Range', '-')}\n")

    def serve(self, with_body):
        path = os.path.join(self.server.root, os.path.basename(self.path.split("?")[0]))
        if not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = os.path.getsize(path)
        start, end = 0, size - 1
        status = 200
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[len("bytes="):].split(",")[0].partition("-")
            if first:
                start = int(first)
                end = int(last) if last else size - 1
            else:
                start = max(0, size - int(last))
            end = min(end, size - 1)
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "video/x-msvideo")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not with_body:
            return
        with open(path, "rb") as file:
            file.seek(start)
            remaining = end - start + 1
            try:
                while remaining > 0:
                    chunk = file.read(min(65536, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def do_GET(self):
        self.note("GET")
        self.serve(True)

    def do_HEAD(self):
        self.note("HEAD")
        self.serve(False)


def main():
    root, port, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.root = root
    server.log_path = log_path
    server.serve_forever()


if __name__ == "__main__":
    main()
