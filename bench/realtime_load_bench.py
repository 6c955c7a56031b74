#!/usr/bin/python3
"""Realtime load benchmark (issue 6): many concurrent /v1/realtime sessions on one `vigil serve`.

What it does: starts `vigil serve` on the embedded tiny LLaVA-OneVision checkpoint
(tests/fixtures/llava_ov_tiny, as tools/run.sh does) on a free loopback port, or attaches to a
running server with --url (then --pid lets it sample that server's memory). It opens --sessions
WebSocket sessions; each pushes a real video (vtest.avi from Debian's opencv-doc, looped and
re-encoded by ffmpeg into /tmp at --fps frames per second of video time) in real time: one
frame's MPEG-TS packets per 1/fps seconds as binary `input_video_buffer.append` messages, or
with --format jpeg one JPEG picture per frame with its pts. Questions (`response.create` about
the session's video) go at an aggregate --qps, each to the idle session asked longest ago.

What it measures, over --duration seconds:
- per question, on the client: time to the first `response.output_text.delta` (TTFT) and to
  `response.done` (total), p50/p95/max; and the server's own latency fields of response.done;
- ingest latency: from sending a frame to the first `input_video_buffer.committed` whose
  `frames_ingested` includes it (the client polls with `input_video_buffer.commit` every
  --poll-seconds); frames pushed, ingested and dropped per session;
- errors of every kind: `error` events (by code), failed or cancelled responses, questions
  not sent because every session was still answering, disconnects, failed connects, failed
  /metrics scrapes; what the server counted without telling a client (growth of
  vigil_realtime_drops_total, vigil_http_errors_total, and with --url
  vigil_engine_errors_total); for a server it started, error lines and `session.failed` in its
  log and a non-zero exit on SIGTERM. Errors while the sessions close are also counted apart;
- the server's RSS (VmRSS of /proc/PID/status) and CPU time every --sample-seconds: RSS before
  the sessions, after --warmup seconds, its maximum, at the end of the load and after the
  sessions closed, and the least-squares slope in MiB/min from --warmup to the end; /metrics at
  every sample (queue depths, video memory per tier) and at the start and end.

It prints a markdown table and, last, one JSON line, and exits 1 when there was any error,
when ingestion fell behind (frames dropped, or a session further behind at the end than the
frames the MPEG-TS path holds back: see `behind` in Bench.summary), or when RSS at the end of
the load exceeds RSS after warm-up by more than --max-rss-growth (default 10%).

Run from the repository root (the media go to /tmp/vigil-loadbench, never into the tree):
  /usr/bin/python3 bench/realtime_load_bench.py --vigil build/service/vigil
  /usr/bin/python3 bench/realtime_load_bench.py --sessions 4 --duration 30   # smoke run
Needs python3-websockets (Debian's 10.4, or a newer one) and an ffmpeg CLI with libx264
(--ffmpeg), or a transport stream made ahead with --media (the GPU machine has neither
libx264 nor network: bench/gpu_load_bench.py --prepare makes one here, tools/gpu_check.sh
carries it).
"""
import argparse
import asyncio
import base64
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import websockets

# websockets 14 made its new asyncio client the default `connect`, which names the upgrade
# request's headers additional_headers; Debian's 10.4 (the one carried to the GPU machine)
# names them extra_headers. Both clients have the close_code / close_reason used here.
HEADERS_ARGUMENT = ("additional_headers"
                    if int(websockets.__version__.split(".")[0]) >= 14 else "extra_headers")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO / "tests/fixtures/llava_ov_tiny"
DEFAULT_VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
MEDIA_DIR = Path("/tmp/vigil-loadbench")
API_KEY = "loadbench-key"
TS_PACKET = 188
QUESTIONS = ["What is happening?", "How many people are walking?", "Did anything change?",
             "Describe the scene.", "Where are the people going?"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=32, help="concurrent realtime sessions")
    p.add_argument("--duration", type=float, default=300, help="seconds of load")
    p.add_argument("--qps", type=float, default=4, help="questions per second, all sessions")
    p.add_argument("--fps", type=float, default=1, help="frames per second of pushed video")
    p.add_argument("--format", choices=["mpegts", "jpeg"], default="mpegts",
                   help="what input_video_buffer.append carries")
    p.add_argument("--url", help="attach to this server (http://host:port) instead of starting one")
    p.add_argument("--pid", type=int, help="with --url: the server's pid, for RSS and CPU")
    p.add_argument("--api-key", default=API_KEY, help="bearer key (the started server uses it)")
    p.add_argument("--vigil", default=str(REPO / "build/service/vigil"), help="vigil binary")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="checkpoint folder to serve")
    p.add_argument("--server-arg", action="append", default=[],
                   help="extra `vigil serve` flag (repeat), e.g. --server-arg=--workers=2")
    p.add_argument("--video", default=DEFAULT_VIDEO, help="source clip, looped")
    p.add_argument("--ffmpeg", default="ffmpeg",
                   help="ffmpeg CLI that makes the pushed media (needs libx264 for mpegts)")
    p.add_argument("--media", help="push this file (MPEG-TS, H.264 without B-frames, or with "
                   "--format jpeg a folder of frame_*.jpg) instead of making one from --video; "
                   "it must hold at least --duration x --fps frames")
    p.add_argument("--media-dir", default=str(MEDIA_DIR),
                   help="where made media, the server log and its data go")
    p.add_argument("--max-tokens", type=int, default=32, help="max_output_tokens per answer")
    p.add_argument("--warmup", type=float, default=30, help="seconds before RSS is the baseline")
    p.add_argument("--max-rss-growth", type=float, default=0.10,
                   help="allowed RSS growth from after warm-up to the end (fraction)")
    p.add_argument("--sample-seconds", type=float, default=2, help="RSS/CPU sampling period")
    p.add_argument("--poll-seconds", type=float, default=0.25, help="commit polling period")
    return p.parse_args()


# ---- media ---------------------------------------------------------------------------------
def loop_command(ffmpeg, video, seconds, fps):
    """The ffmpeg command line (without output) that loops `video` for `seconds` at `fps`."""
    return [ffmpeg, "-v", "error", "-y", "-stream_loop", "-1", "-i", video,
            "-t", str(seconds), "-vf", f"fps={fps:g}", "-pix_fmt", "yuv420p"]


def make_transport_stream(ffmpeg, video, seconds, fps, path):
    """Writes `path`: `video` looped for `seconds` at `fps` as MPEG-TS, H.264 without B-frames
    and a keyframe every 10 frames (a live camera's stream)."""
    part = f"{path}.part{os.getpid()}"  # benches running side by side each make one
    subprocess.run(loop_command(ffmpeg, video, seconds, fps) +
                   ["-c:v", "libx264", "-preset", "veryfast", "-g", "10", "-bf", "0",
                    "-f", "mpegts", part], check=True)
    os.replace(part, path)


def prepare_media(args):
    """The pushed video as one chunk per frame: MPEG-TS byte runs (each starting with the
    tables the muxer repeats before every frame) or JPEG pictures. Made once per settings,
    or read from --media."""
    if args.media:
        if args.format == "mpegts":
            return split_mpegts(Path(args.media).read_bytes())
        return [f.read_bytes() for f in sorted(Path(args.media).glob("frame_*.jpg"))]
    seconds = int(args.duration + args.warmup + 60)
    media_dir = Path(args.media_dir)
    media_dir.mkdir(parents=True, exist_ok=True)
    name = f"loop_{Path(args.video).stem}_{seconds}s_{args.fps:g}fps"
    loop = loop_command(args.ffmpeg, args.video, seconds, args.fps)
    if args.format == "mpegts":
        path = media_dir / f"{name}.ts"
        if not path.exists():
            make_transport_stream(args.ffmpeg, args.video, seconds, args.fps, path)
        return split_mpegts(path.read_bytes())
    folder = media_dir / f"{name}_jpeg"
    if not folder.exists():
        part = Path(f"{folder}.part{os.getpid()}")
        part.mkdir(exist_ok=True)
        subprocess.run(loop + ["-q:v", "4", str(part / "frame_%06d.jpg")], check=True)
        try:
            os.rename(part, folder)
        except OSError:  # another bench made it meanwhile
            shutil.rmtree(part)
    return [f.read_bytes() for f in sorted(folder.glob("frame_*.jpg"))]


def split_mpegts(data):
    """Cuts a transport stream before each video PES start (and the table packets just before
    it), so chunk i holds frame i."""
    def pid_of(n):
        return ((data[n * TS_PACKET + 1] & 0x1F) << 8) | data[n * TS_PACKET + 2]

    packets = len(data) // TS_PACKET
    table_pids = {0, 0x11, 0x1000}  # PAT, SDT, ffmpeg's PMT
    cuts = []
    for n in range(packets):
        unit_start = data[n * TS_PACKET + 1] & 0x40
        if unit_start and pid_of(n) not in table_pids:
            cut = n
            while cut > (cuts[-1] if cuts else 0) and pid_of(cut - 1) in table_pids:
                cut -= 1
            cuts.append(cut)
    cuts[0] = 0
    cuts.append(packets)
    return [data[a * TS_PACKET:b * TS_PACKET] for a, b in zip(cuts, cuts[1:])]


# ---- numbers -------------------------------------------------------------------------------
def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values, scale=1.0):
    """p50, p95, max (scaled, rounded) of a list, or Nones."""
    return {key: (None if v is None else round(v * scale, 1)) for key, v in
            (("p50", percentile(values, 0.5)), ("p95", percentile(values, 0.95)),
             ("max", max(values) if values else None))}


def slope_per_minute(points):
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def parse_metrics(text):
    """Prometheus text -> {'name{labels}': value}."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                values[key] = float(value)
            except ValueError:
                pass
    return values


# ---- the benchmark -------------------------------------------------------------------------
class Question:
    def __init__(self, event_id, sent_at):
        self.event_id = event_id
        self.sent_at = sent_at
        self.first_delta_at = None


class Session:
    """One realtime WebSocket session: pushes the video, polls progress, answers questions."""

    def __init__(self, bench, index):
        self.bench = bench
        self.index = index
        self.ws = None
        self.id = None
        self.send_times = []  # wall time each chunk (frame) was sent
        self.frames_ingested = 0
        self.first_frame_latency = None  # seconds from the first push to the first ingested frame
        self.frames_dropped = 0
        self.status = None
        self.active = None  # the Question in flight
        self.last_question_at = 0.0
        self.closing = False
        self.dead = False
        self.alerts = 0

    async def connect(self):
        self.ws = await websockets.connect(
            self.bench.ws_url, max_size=None,
            **{HEADERS_ARGUMENT: {"Authorization": f"Bearer {self.bench.args.api_key}"}})
        created = json.loads(await self.ws.recv())
        if created.get("type") != "session.created":
            raise RuntimeError(f"expected session.created, got {created}")
        self.id = created["session"]["id"]
        await self.ws.send(json.dumps({"type": "session.update", "session": {
            "input_video_format": self.bench.args.format,
            "max_output_tokens": self.bench.args.max_tokens, "temperature": 0}}))

    async def read_events(self):
        try:
            async for message in self.ws:
                self.on_event(json.loads(message), time.monotonic())
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self.closing:
                self.dead = True
                self.bench.error("disconnect", f"session {self.index} closed: "
                                 f"{self.ws.close_code} {self.ws.close_reason}")

    def on_event(self, event, now):
        kind = event.get("type")
        bench = self.bench
        if kind == "input_video_buffer.committed":
            progress = event["progress"]
            ingested = progress.get("frames_ingested", 0)
            for frame in range(self.frames_ingested, ingested):
                chunk = math.floor(frame * bench.fps_per_sample + 1e-9)
                if chunk < len(self.send_times):
                    sent = self.send_times[chunk]
                    bench.ingest_latencies.append((sent - bench.start, now - sent))
            if ingested > 0 and self.first_frame_latency is None and self.send_times:
                self.first_frame_latency = now - self.send_times[0]
            self.frames_ingested = max(self.frames_ingested, ingested)
            self.frames_dropped = progress.get("frames_dropped", 0)
            self.status = progress.get("status")
            if self.status == "failed":
                bench.error("ingest_failed", f"session {self.index}: {progress}")
        elif kind == "response.output_text.delta":
            if self.active and self.active.first_delta_at is None:
                self.active.first_delta_at = now
        elif kind == "response.done":
            response = event["response"]
            question, self.active = self.active, None
            if question is None:
                return bench.error("unexpected_response_done", f"session {self.index}")
            if response["status"] in ("failed", "cancelled"):
                return bench.error(f"response_{response['status']}",
                                   json.dumps(response.get("status_details", {})))
            if question.first_delta_at is None:
                return bench.error("response_without_delta", f"session {self.index}")
            bench.ttft.append(question.first_delta_at - question.sent_at)
            bench.total.append(now - question.sent_at)
            latency = response.get("latency", {})
            bench.server_ttft.append(latency.get("time_to_first_token_ms", 0) / 1000)
            bench.server_total.append(latency.get("total_ms", 0) / 1000)
            bench.output_tokens.append(response.get("usage", {}).get("output_tokens", 0))
        elif kind == "error":
            error = event["error"]
            if self.active and error.get("event_id") == self.active.event_id:
                self.active = None
            bench.error(f"error_event:{error.get('code')}",
                        f"session {self.index}: {error.get('message')}")
        elif kind == "alert.triggered":
            self.alerts += 1
        elif kind not in ("session.updated", "response.created", "response.output_text.done"):
            bench.error("unexpected_event", json.dumps(event)[:200])

    async def send(self, message):
        if self.dead:
            return False
        try:
            await self.ws.send(message)
            return True
        except websockets.ConnectionClosed:
            return False  # read_events reports it

    async def push_video(self, start, end):
        """Frame i at start + i/fps (real time), until end."""
        args = self.bench.args
        chunks = self.bench.chunks
        for i in range(len(chunks)):
            due = start + i / args.fps
            if due >= end:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            self.bench.push_lateness = max(self.bench.push_lateness, time.monotonic() - due)
            if args.format == "jpeg":
                message = json.dumps({"type": "input_video_buffer.append", "pts": i / args.fps,
                                      "video": base64.b64encode(chunks[i]).decode()})
            else:
                message = chunks[i]
            self.send_times.append(time.monotonic())
            if not await self.send(message):
                return
        self.bench.error("media_too_short", f"{len(chunks)} frames")

    async def poll_progress(self, end):
        while time.monotonic() < end and not self.dead:
            await self.send('{"type": "input_video_buffer.commit"}')
            await asyncio.sleep(self.bench.args.poll_seconds)

    async def ask(self, number):
        question = Question(f"q{number}", time.monotonic())
        self.active = question
        self.last_question_at = question.sent_at
        await self.send(json.dumps({"type": "response.create", "event_id": question.event_id,
                                    "question": QUESTIONS[number % len(QUESTIONS)]}))

    async def close(self):
        self.closing = True
        try:
            await asyncio.wait_for(self.ws.close(), timeout=10)
        except (asyncio.TimeoutError, websockets.ConnectionClosed) as e:
            self.bench.error("close_failed", f"session {self.index}: {e!r}")


class Bench:
    def __init__(self, args):
        self.args = args
        self.errors = {}
        self.errors_at_close = {}
        self.close_started_at = None  # wall clock (time.time()) when the sessions began to close
        self.error_examples = {}
        self.ttft, self.total, self.server_ttft, self.server_total = [], [], [], []
        self.output_tokens = []
        self.ingest_latencies = []  # (sent, seconds since load start; latency, seconds)
        self.questions_sent = 0
        self.push_lateness = 0.0
        self.samples = []  # (seconds since load start, rss KiB, cpu seconds)
        self.metric_samples = []  # (seconds, parsed /metrics)
        self.server = None
        self.pid = args.pid
        self.base_url = args.url.rstrip("/") if args.url else None
        # Chunks (frames of pushed video) per sampled frame: the server samples 1 frame/s.
        self.fps_per_sample = args.fps
        self.chunks = None
        self.log_path = Path(args.media_dir) / f"server-{os.getpid()}.log"

    def error(self, kind, detail, at_close=None):
        """Counts an error; at_close (default: whether the sessions are being closed) also
        counts it among those of the teardown."""
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.error_examples.setdefault(kind, detail)
        if self.close_started_at is not None if at_close is None else at_close:
            self.errors_at_close[kind] = self.errors_at_close.get(kind, 0) + 1

    @property
    def ws_url(self):
        return self.base_url.replace("http://", "ws://") + "/v1/realtime"

    # ---- the server ------------------------------------------------------------------------
    def start_server(self):
        args = self.args
        Path(args.media_dir).mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(args.media_dir) / f"data-{os.getpid()}"
        command = [args.vigil, "serve", "--model", args.model, "--port", "0",
                   "--data-dir", str(self.data_dir), "--api-keys", args.api_key,
                   "--max-streams", str(max(16, args.sessions)),
                   "--max-sessions", str(max(64, args.sessions))] + args.server_arg
        self.server_command = " ".join(command)
        log = open(self.log_path, "w")
        self.server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        self.pid = self.server.pid
        line = self.server.stdout.readline()  # "listening on http://HOST:PORT"
        if not line.startswith("listening on "):
            raise RuntimeError(f"vigil serve did not start (see {self.log_path}): {line!r}")
        self.base_url = line.split()[-1]
        # Nothing else is expected on stdout; drain it so the server can never block on it.
        threading.Thread(target=self.server.stdout.read, daemon=True).start()

    def stop_server(self):
        if self.server is None:
            return None
        self.server.send_signal(signal.SIGTERM)
        try:
            code = self.server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.server.kill()
            code = self.server.wait()
            self.error("server_exit", "did not stop within 60 s of SIGTERM")
        if code != 0:
            self.error("server_exit", f"exit code {code}")
        for line in open(self.log_path, errors="replace"):
            compact = line.replace(" ", "")
            if '"level":"error"' in compact or '"event":"session.failed"' in compact:
                entry = json.loads(line)
                logged_at = datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=timezone.utc).timestamp()
                self.error("server_log_" + entry.get("event", "?"), line.strip()[:300],
                           at_close=logged_at >= self.close_started_at)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return code

    def http_get(self, path):
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
            return response.read().decode()

    async def scrape_metrics(self):
        try:
            return parse_metrics(await asyncio.to_thread(self.http_get, "/metrics"))
        except Exception as e:  # any failure of the scrape is an error of the run
            self.error("metrics_http", repr(e))
            return {}

    def sample_process(self):
        """(rss KiB, cpu seconds) of the server, or Nones."""
        if not self.pid:
            return None, None
        try:
            rss = None
            for line in open(f"/proc/{self.pid}/status"):
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
            fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            return rss, cpu
        except OSError:
            self.error("server_gone", f"/proc/{self.pid} unreadable")
            return None, None

    async def monitor(self, start, end):
        while time.monotonic() < end:
            rss, cpu = self.sample_process()
            now = time.monotonic() - start
            if rss is not None:
                self.samples.append((now, rss, cpu))
            self.metric_samples.append((now, await self.scrape_metrics()))
            await asyncio.sleep(self.args.sample_seconds)

    def count_server_errors(self, before, after):
        """Failures the server counted between two scrapes that no client may have seen. A
        server this bench started reports its engine errors in its log (read at the end)."""
        counters = ["vigil_realtime_drops_total", "vigil_http_errors_total"]
        if self.server is None:
            counters.append("vigil_engine_errors_total")
        for counter in counters:
            grown = after.get(counter, 0) - before.get(counter, 0)
            for _ in range(int(grown)):
                self.error(counter, f"grew by {grown:g} between two scrapes")

    # ---- the load --------------------------------------------------------------------------
    async def ask_questions(self, sessions, start, end):
        """Questions at qps, each to the ready idle session asked longest ago."""
        number = 0
        while True:
            due = start + number / self.args.qps
            if due >= end:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            idle = [s for s in sessions
                    if s.active is None and not s.dead and s.frames_ingested > 0]
            if not idle:
                self.error("question_not_sent_all_busy", f"question {number}")
            else:
                await min(idle, key=lambda s: s.last_question_at).ask(number)
                self.questions_sent += 1
            number += 1

    async def run(self):
        args = self.args
        self.chunks = prepare_media(args)
        if len(self.chunks) < args.duration * args.fps:
            raise SystemExit(f"realtime_load_bench: the media hold {len(self.chunks)} frames, "
                             f"fewer than --duration x --fps = {args.duration * args.fps:g}")
        if self.base_url is None:
            self.start_server()
        self.http_get("/health/ready")
        self.idle_rss, _ = self.sample_process()
        self.start_metrics = await self.scrape_metrics()
        self.load_start = os.getloadavg()
        sessions = [Session(self, i) for i in range(args.sessions)]
        results = await asyncio.gather(*(s.connect() for s in sessions), return_exceptions=True)
        for session, result in zip(sessions, results):
            if isinstance(result, BaseException):
                session.dead = True
                self.error("connect_failed", f"session {session.index}: {result!r}")
        live = [s for s in sessions if not s.dead]
        readers = [asyncio.create_task(s.read_events()) for s in live]
        start = self.start = time.monotonic()
        end = start + args.duration
        tasks = [asyncio.create_task(self.monitor(start, end))]
        for s in live:  # first frames spread over the first second
            tasks.append(asyncio.create_task(s.push_video(start + s.index / len(sessions), end)))
            tasks.append(asyncio.create_task(s.poll_progress(end + 3)))
        # Questions start once every session has video in memory (or after 60 s).
        while time.monotonic() < start + 60 and not all(s.frames_ingested > 0 for s in live):
            await asyncio.sleep(0.2)
        self.questions_start = time.monotonic() - start
        tasks.append(asyncio.create_task(self.ask_questions(live, time.monotonic(), end)))
        await asyncio.gather(*tasks)
        # Drain: answers in flight finish, the last frames are ingested and polled.
        drain_until = time.monotonic() + 60
        while any(s.active and not s.dead for s in live) and time.monotonic() < drain_until:
            await asyncio.sleep(0.1)
        for s in live:
            if s.active and not s.dead:
                self.error("response_not_done", f"session {s.index} after 60 s of drain")
        self.end_rss, _ = self.sample_process()
        self.end_metrics = await self.scrape_metrics()
        self.load_end = os.getloadavg()
        self.count_server_errors(self.start_metrics, self.end_metrics)
        self.close_started_at = time.time()
        await asyncio.gather(*(s.close() for s in live))
        await asyncio.gather(*readers)
        await asyncio.sleep(3)
        self.closed_rss, _ = self.sample_process()
        self.closed_metrics = await self.scrape_metrics()
        self.count_server_errors(self.end_metrics, self.closed_metrics)
        self.sessions = sessions
        self.server_exit = self.stop_server()

    # ---- the report ------------------------------------------------------------------------
    def memory_summary(self):
        """RSS (MiB) before the sessions, after warm-up, max, end, after close; growth from
        warm-up to the end (fraction) and the slope after warm-up (MiB/min)."""
        mib = 1 / 1024
        after_warmup = [(t, rss * mib) for t, rss, _ in self.samples if t >= self.args.warmup]
        during_load = [rss * mib for _, rss, _ in self.samples]
        warm = after_warmup[0][1] if after_warmup else None
        end = self.end_rss * mib if self.end_rss else (during_load[-1] if during_load else None)
        growth = (end - warm) / warm if warm and end else None
        slope = slope_per_minute(after_warmup)

        def rounded(value, digits=1):
            return None if value is None else round(value, digits)

        closed = self.closed_rss * mib if self.closed_rss else None
        idle = self.idle_rss * mib if self.idle_rss else None
        return {"before_sessions": rounded(idle), "after_warmup": rounded(warm),
                "max": rounded(max(during_load, default=None)), "end": rounded(end),
                "after_close": rounded(closed)}, growth, rounded(slope, 3)

    def server_load(self):
        """Cores the server kept busy, queue depths from /metrics, video memory per tier."""
        cpu = [(t, c) for t, _, c in self.samples if c is not None]
        cores = None
        if len(cpu) > 1 and cpu[-1][0] > cpu[0][0]:
            cores = round((cpu[-1][1] - cpu[0][1]) / (cpu[-1][0] - cpu[0][0]), 2)
        depth = {}
        for queue in ("question", "ingest"):
            values = [m.get(f'vigil_queue_depth{{queue="{queue}"}}', 0)
                      for _, m in self.metric_samples if m]
            depth[queue] = {"max": max(values, default=None),
                            "mean": round(sum(values) / len(values), 2) if values else None}

        def video_mib(metrics):
            total = sum(v for k, v in metrics.items() if k.startswith("vigil_memory_bytes{"))
            return round(total / (1 << 20), 2)

        warm = next((m for t, m in self.metric_samples if t >= self.args.warmup and m), {})
        video = {"after_warmup": video_mib(warm), "end": video_mib(self.end_metrics),
                 "after_close": video_mib(self.closed_metrics)}
        return cores, depth, video

    def summary(self):
        args = self.args
        rss, growth, slope = self.memory_summary()
        cores, depth, video = self.server_load()
        pushed = [len(s.send_times) for s in self.sessions]
        ingested = [s.frames_ingested for s in self.sessions]
        dropped = sum(s.frames_dropped for s in self.sessions)
        # Sampled frames (seconds of video) pushed but not ingested at the end. In MPEG-TS the
        # last frames wait for bytes that never come (the demuxer ends a frame at the next
        # one's first packet, the parser too, and the sampler holds a picture until the next
        # shows it is the last before its time): 3 frames of slack. A server falling behind
        # would be far more behind, or drop frames.
        behind = [max(0, math.floor(p / self.fps_per_sample) - i) for p, i in zip(pushed, ingested)]
        slack = math.ceil(3 / args.fps) + 1 if args.format == "mpegts" else 1
        latencies = [lat for _, lat in self.ingest_latencies]
        steady = [lat for sent, lat in self.ingest_latencies if sent >= args.warmup]
        last_minute = [lat for sent, lat in self.ingest_latencies if sent >= args.duration - 60]
        question_window = args.duration - self.questions_start
        usage = resource.getrusage(resource.RUSAGE_SELF)
        errors = sum(self.errors.values())
        memory_ok = not self.pid or (growth is not None and growth <= args.max_rss_growth)
        ingest_ok = dropped == 0 and max(behind, default=0) <= slack
        return {
            "bench": "realtime_load", "sessions": args.sessions, "duration_s": args.duration,
            "qps_offered": args.qps, "fps": args.fps, "format": args.format,
            "max_output_tokens": args.max_tokens,
            "server": getattr(self, "server_command", self.base_url),
            "load_avg_start": [round(x, 2) for x in self.load_start],
            "load_avg_end": [round(x, 2) for x in self.load_end],
            "questions_sent": self.questions_sent, "questions_answered": len(self.total),
            "qps_achieved": round(len(self.total) / question_window, 2),
            "questions_start_s": round(self.questions_start, 1),
            "output_tokens_mean":
                round(sum(self.output_tokens) / max(1, len(self.output_tokens)), 1),
            "ttft_ms": spread(self.ttft, 1000), "total_ms": spread(self.total, 1000),
            "server_ttft_ms": spread(self.server_ttft, 1000),
            "server_total_ms": spread(self.server_total, 1000),
            "ingest_latency_ms": spread(latencies, 1000),
            "ingest_latency_after_warmup_ms": spread(steady, 1000),
            "ingest_latency_last_minute_ms": spread(last_minute, 1000),
            "first_frame_latency_s": spread([s.first_frame_latency for s in self.sessions
                                             if s.first_frame_latency is not None]),
            "frames_pushed": sum(pushed), "frames_ingested": sum(ingested),
            "frames_ingested_per_session": {"min": min(ingested, default=0),
                                            "max": max(ingested, default=0)},
            "frames_dropped": dropped, "frames_behind_max": max(behind, default=0),
            "alerts": sum(s.alerts for s in self.sessions),
            "errors": errors, "errors_at_close": sum(self.errors_at_close.values()),
            "error_kinds": self.errors, "error_kinds_at_close": self.errors_at_close,
            "error_examples": self.error_examples,
            "rss_mib": rss, "rss_growth_pct": None if growth is None else round(100 * growth, 2),
            "rss_slope_mib_per_min": slope, "video_memory_mib": video,
            "server_cores_busy": cores, "queue_depth": depth,
            "metrics_end": {k: v for k, v in self.end_metrics.items()
                            if not k.startswith(("vigil_http_request_duration", "vigil_time_"))},
            "sessions_active_after_close": self.closed_metrics.get("vigil_sessions_active"),
            "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "client_push_lateness_max_ms": round(self.push_lateness * 1000, 1),
            "server_exit": self.server_exit,
            "server_log": str(self.log_path) if self.server else None,
            "pass": errors == 0 and memory_ok and ingest_ok,
        }


def print_table(s):
    def spread_text(d):
        return f"{d['p50']} / {d['p95']} / {d['max']}"

    rss, video, depth = s["rss_mib"], s["video_memory_mib"], s["queue_depth"]
    rows = [
        ("sessions × video",
         f"{s['sessions']} × {s['fps']:g} fps ({s['format']}), {s['duration_s']:g} s"),
        ("questions offered / sent / answered",
         f"{s['qps_offered']:g}/s / {s['questions_sent']} / {s['questions_answered']} "
         f"({s['qps_achieved']}/s from {s['questions_start_s']} s)"),
        ("TTFT p50 / p95 / max, client (ms)", spread_text(s["ttft_ms"])),
        ("total p50 / p95 / max, client (ms)", spread_text(s["total_ms"])),
        ("TTFT p50 / p95 / max, server's latency field (ms)", spread_text(s["server_ttft_ms"])),
        ("total p50 / p95 / max, server's latency field (ms)",
         spread_text(s["server_total_ms"])),
        ("output tokens per answer (mean)", s["output_tokens_mean"]),
        ("ingest latency p50 / p95 / max, all frames (ms)", spread_text(s["ingest_latency_ms"])),
        ("ingest latency p50 / p95 / max, after warm-up (ms)",
         spread_text(s["ingest_latency_after_warmup_ms"])),
        ("ingest latency p50 / p95 / max, last minute (ms)",
         spread_text(s["ingest_latency_last_minute_ms"])),
        ("first frame ingested after p50 / p95 / max (s)",
         spread_text(s["first_frame_latency_s"])),
        ("frames pushed / ingested / dropped",
         f"{s['frames_pushed']} / {s['frames_ingested']} / {s['frames_dropped']}"),
        ("frames ingested per session min / max",
         f"{s['frames_ingested_per_session']['min']} / {s['frames_ingested_per_session']['max']}"),
        ("errors: all (of them while the sessions closed)",
         f"{s['errors']} ({s['errors_at_close']}) {s['error_kinds'] or ''}"),
        ("RSS before sessions / after warm-up / max / end / after close (MiB)",
         f"{rss['before_sessions']} / {rss['after_warmup']} / {rss['max']} / {rss['end']} / "
         f"{rss['after_close']}"),
        ("RSS growth after warm-up; slope",
         f"{s['rss_growth_pct']}%; {s['rss_slope_mib_per_min']} MiB/min"),
        ("video memory after warm-up / end / after close (MiB)",
         f"{video['after_warmup']} / {video['end']} / {video['after_close']}"),
        ("server CPU (cores busy)", s["server_cores_busy"]),
        ("queue depth question / ingest: max (mean)",
         f"{depth['question']['max']} ({depth['question']['mean']}) / "
         f"{depth['ingest']['max']} ({depth['ingest']['mean']})"),
        ("client CPU s; worst push lateness (ms)",
         f"{s['client_cpu_s']}; {s['client_push_lateness_max_ms']}"),
        ("load average start → end", f"{s['load_avg_start']} → {s['load_avg_end']}"),
        ("server exit code", s["server_exit"]),
        ("pass", s["pass"]),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for kind, example in s["error_examples"].items():
        print(f"error {kind}: {example}", file=sys.stderr)


def raise_open_file_limit():
    """Each session holds a socket, and the client may run many: lift the soft limit on open
    files to the hard one (1024 is the usual soft default)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass


def main():
    args = parse_args()
    raise_open_file_limit()
    bench = Bench(args)
    try:
        asyncio.run(bench.run())
    finally:
        if bench.server is not None and bench.server.poll() is None:
            bench.server.kill()
    summary = bench.summary()
    print_table(summary)
    print(json.dumps(summary))
    sys.exit(0 if summary["pass"] else 1)


if __name__ == "__main__":
    main()
