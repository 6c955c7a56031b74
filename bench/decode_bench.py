#!/usr/bin/python3
"""Decoder benchmark: vigil and its peers on the same work, in the same run, as ratios.

Work: sample 1 frame/s as RGB 384x384 ("the frame shown at t is the last frame with pts <= t",
t = 0, 1, 2, ... s) from
  (a) a 10-minute 1080p H.264 clip (2.5 Mb/s, GOP 250, 3 B-frames, 25 fps),
  (b) the same at 720p,
  (c) a 2-minute 4K HEVC clip (8 Mb/s, GOP 250, 3 B-frames, 25 fps).
Each clip is a short segment of real footage (OpenCV's vtest.avi, imageio's cockatoo.mp4,
scaled up under a moving crop so that every frame moves), encoded once with the ffmpeg CLI,
then stream-copied back to back by vigil_loop_video up to the clip's length. Everything is
cached in --media-dir and reused across runs.

Peers, each its own subprocess on the same file doing the same work:
  ffmpeg  the CLI with its best flags: -threads 0, fps and scale filters, rgb24 raw output to
          /dev/null
  pyav    PyAV (Debian's python3-av), thread_type AUTO, the usual decode loop, to_ndarray of the
          wanted frames
  opencv  OpenCV VideoCapture (FFmpeg backend): grab() every frame, retrieve() + resize only the
          wanted ones
  vigil   build/service/vigil decode CLIP --fps 1 --size 384x384 --threads N
Per run: wall seconds, CPU seconds (user + sys of the child, from wait4), peak RSS (the child's
ru_maxrss) and the frames it output. Every tool must output the same number of frames.

Run with /usr/bin/python3 (Debian's numpy, av, cv2). The parent uses the standard library only;
peers that cannot be imported are skipped with --skip-missing-peers.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUT_SIZE = 384
SAMPLES_PER_SECOND = 1
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
COCKATOO = "/usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4"


# ---- clips -------------------------------------------------------------------------------

@dataclass
class ClipSpec:
    """One benchmark clip: an encoded segment, looped to full length."""
    key: str
    title: str
    seconds: float           # full length at --duration-scale 1
    segment_seconds: int     # length of the encoded segment that is looped
    source: str              # real footage the segment is made from
    width: int
    height: int
    codec_args: list
    description: str

    def segment_name(self):
        # Bump the version when the recipe changes: segments are cached by name.
        return f"segment_{self.key}_{self.height}p_{self.codec_args[1]}_{self.segment_seconds}s_v1.mp4"

    def filters(self):
        # 10% larger than the target, then a crop that drifts a few pixels per frame: every
        # frame moves (real motion vectors, real residuals), also where the source repeats a
        # frame to reach 25 fps.
        big_w, big_h = self.width * 11 // 10, self.height * 11 // 10
        dx, dy = (big_w - self.width) // 2, (big_h - self.height) // 2
        return (f"fps=25,scale={big_w}:{big_h}:flags=bicubic,"
                f"crop={self.width}:{self.height}:x='{dx}+{dx}*sin(2*PI*t/7)':"
                f"y='{dy}+{dy}*sin(2*PI*t/11)',format=yuv420p")


X264 = ["-c:v", "libx264", "-preset", "medium", "-b:v", "2.5M", "-maxrate", "5M",
        "-bufsize", "5M", "-g", "250", "-keyint_min", "250", "-sc_threshold", "0", "-bf", "3"]
X265 = ["-c:v", "libx265", "-preset", "veryfast", "-b:v", "8M", "-tag:v", "hvc1",
        "-x265-params", "keyint=250:min-keyint=250:scenecut=0:bframes=3:log-level=error"]

CLIPS = {
    "a": ClipSpec("a", "(a) 1080p H.264, 10 min", 600, 60, VTEST, 1920, 1080, X264,
                  "1920x1080 H.264 High (x264 medium), 2.5 Mb/s, 25 fps, GOP 250, 3 B-frames"),
    "b": ClipSpec("b", "(b) 720p H.264, 10 min", 600, 30, VTEST, 1280, 720, X264,
                  "1280x720 H.264 High (x264 medium), 2.5 Mb/s, 25 fps, GOP 250, 3 B-frames"),
    "c": ClipSpec("c", "(c) 4K HEVC, 2 min", 120, 10, COCKATOO, 3840, 2160, X265,
                  "3840x2160 HEVC Main (x265 veryfast), 8 Mb/s, 25 fps, GOP 250, 3 B-frames"),
}


def log(message):
    print(f"[decode_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def probe(vigil, path):
    """vigil probe: stream facts from a packet scan (no ffprobe needed)."""
    result = subprocess.run([str(vigil), "probe", str(path)], check=True, capture_output=True,
                            text=True)
    return json.loads(result.stdout)


def make_segment(spec, path, encoder):
    if shutil.which(encoder) is None:
        sys.exit(f"decode_bench: {path} is missing and there is no ffmpeg CLI ({encoder}) to "
                 "encode it; copy the segments made by tools/prepare_gpu_media.sh into --media-dir")
    if not Path(spec.source).exists():
        sys.exit(f"decode_bench: source footage {spec.source} is missing (tools/install_deps.sh)")
    log(f"encoding {path.name} from {spec.source} (once; cached)")
    temporary = path.with_suffix(".partial.mp4")
    command = [encoder, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-stream_loop", "-1", "-i", spec.source, "-t", str(spec.segment_seconds), "-an",
               "-vf", spec.filters(), *spec.codec_args, "-movflags", "+faststart", str(temporary)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    temporary.rename(path)
    log(f"encoded {path.name} in {time.perf_counter() - started:.0f} s")


def make_clip(spec, args):
    """The clip for spec at --duration-scale, making the segment and the loop if missing."""
    media = Path(args.media_dir)
    media.mkdir(parents=True, exist_ok=True)
    segment = media / spec.segment_name()
    if not segment.exists():
        make_segment(spec, segment, args.encoder)
    if args.segments_only:
        return segment
    segment_seconds = probe(args.vigil, segment)["duration_seconds"]
    copies = max(1, round(spec.seconds * args.duration_scale / segment_seconds))
    clip = media / f"clip_{segment.stem.removeprefix('segment_')}_x{copies}.mp4"
    if not clip.exists():
        temporary = clip.with_suffix(".partial.mp4")
        subprocess.run([str(args.loop_tool), str(segment), str(temporary), str(copies)],
                       check=True, stdout=sys.stderr)
        temporary.rename(clip)
    return clip


# ---- peers (run in a child process: python3 decode_bench.py --peer-child NAME CLIP) --------

def child_pyav(path):
    import av
    container = av.open(str(path))
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    time_base = stream.time_base
    start = None
    next_sample = 0          # the next sample time, seconds
    previous = None          # the last frame seen: it answers samples until the next one's pts
    previous_rgb = None
    frames = decoded = 0
    last_time = Fraction(0)

    def emit_until(limit):
        nonlocal next_sample, previous_rgb, frames
        while previous is not None and next_sample < limit:
            if previous_rgb is None:
                previous_rgb = previous.to_ndarray(width=OUTPUT_SIZE, height=OUTPUT_SIZE,
                                                   format="rgb24", interpolation="BICUBIC")
            frames += 1  # the frame is in memory as an RGB array; the benchmark drops it
            next_sample += Fraction(1, SAMPLES_PER_SECOND)

    for frame in container.decode(stream):
        decoded += 1
        if start is None:
            start = frame.pts
        last_time = (frame.pts - start) * time_base
        emit_until(last_time)
        previous, previous_rgb = frame, None
    rate = stream.average_rate or Fraction(25)
    emit_until(last_time + 1 / Fraction(rate))  # the last frame lasts one frame duration
    return {"frames": frames, "decoded": decoded}


def child_opencv(path):
    import cv2
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise RuntimeError(f"OpenCV cannot open {path}")
    # Frame i is shown during [i/rate, (i+1)/rate): the clips are constant frame rate, and
    # OpenCV's CAP_PROP_POS_MSEC reads 0 for the frames drained at the end of the file.
    rate = Fraction(capture.get(cv2.CAP_PROP_FPS)).limit_denominator(1001)
    next_sample = Fraction(0)
    frames = decoded = 0
    while capture.grab():
        decoded += 1
        shown_until = decoded / rate
        if next_sample < shown_until:
            ok, bgr = capture.retrieve()
            if not ok:
                raise RuntimeError(f"OpenCV cannot retrieve frame {decoded - 1}")
            rgb = cv2.cvtColor(cv2.resize(bgr, (OUTPUT_SIZE, OUTPUT_SIZE)), cv2.COLOR_BGR2RGB)
            while next_sample < shown_until:
                frames += 1  # rgb is in memory; the benchmark drops it
                next_sample += Fraction(1, SAMPLES_PER_SECOND)
            del rgb
    return {"frames": frames, "decoded": decoded}


CHILDREN = {"pyav": child_pyav, "opencv": child_opencv}
PEER_MODULES = {"pyav": "av", "opencv": "cv2"}


# ---- running and measuring ---------------------------------------------------------------

@dataclass
class Run:
    tool: str
    workers: str
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    frames: int = -1
    decoded: int = -1        # pictures decoded, where the tool tells
    repeats: list = field(default_factory=list)  # wall seconds of every repetition
    error: str = ""
    details: dict = field(default_factory=dict)


def measure(command):
    """Runs command; returns (wall s, cpu s, peak rss MiB, exit status, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0,
                process.returncode, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"))


def tool_command(tool, workers, clip, args):
    if tool == "vigil":
        return [str(args.vigil), "decode", str(clip), "--fps", str(SAMPLES_PER_SECOND),
                "--size", f"{OUTPUT_SIZE}x{OUTPUT_SIZE}", "--threads", str(workers)]
    if tool == "ffmpeg":
        # fps=1:round=up keeps, for each t, the last frame with ceil(pts) <= t, i.e. pts <= t.
        # -progress reports the frame count; the output goes nowhere.
        sink = (["-f", "rawvideo", "-y", "/dev/null"] if args.ffmpeg_output == "rawvideo"
                else ["-f", "null", "-"])
        return [args.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats",
                "-progress", "pipe:1", "-threads", "0", "-i", str(clip), "-an", "-sn",
                "-vf", f"fps={SAMPLES_PER_SECOND}:round=up,scale={OUTPUT_SIZE}:{OUTPUT_SIZE}",
                "-pix_fmt", "rgb24", *sink]
    return [args.python, str(Path(__file__).resolve()), "--peer-child", tool, str(clip)]


def parse_output(tool, stdout):
    """(frames output, pictures decoded or -1, details) from a tool's stdout."""
    if tool == "vigil":
        summary = json.loads(stdout)
        counters = summary.get("counters", {})
        return summary["frames"], counters.get("frames_decoded", -1), {
            "counters": counters, "vigil_seconds": summary.get("seconds")}
    if tool == "ffmpeg":
        frames = [int(line.split("=", 1)[1]) for line in stdout.splitlines()
                  if line.startswith("frame=")]
        return (frames[-1] if frames else -1), -1, {}
    result = json.loads(stdout.strip().splitlines()[-1])
    return result["frames"], result.get("decoded", -1), {}


def run_tool(tool, workers, clip, args, run):
    command = tool_command(tool, workers, clip, args)
    wall, cpu, rss, status, stdout, stderr = measure(command)
    if status != 0:
        run.error = f"exit {status}: {stderr.strip()[-500:]}"
        log(f"{tool} failed: {run.error}")
        return
    frames, decoded, details = parse_output(tool, stdout)
    run.repeats.append(round(wall, 3))
    log(f"{tool:6} workers={workers:>4}: {wall:7.2f} s wall, {cpu:7.2f} s CPU, "
        f"{rss:7.1f} MiB, {frames} frames")
    if run.frames < 0 or wall < run.wall_seconds:  # keep the best repetition
        run.wall_seconds, run.cpu_seconds, run.peak_rss_mib = wall, cpu, rss
        run.frames, run.decoded, run.details = frames, decoded, details
    run.details["command"] = " ".join(command)


def expected_seconds(row, runs):
    """A guess at a run's wall time from the runs already made on the same clip."""
    tool, workers = row
    if runs[row].repeats:
        return min(runs[row].repeats)
    if tool == "vigil":  # scale a vigil run made with other workers, assuming 75% efficiency
        for (other, other_workers), run in runs.items():
            if other == "vigil" and run.repeats:
                return min(run.repeats) * other_workers / int(workers) / 0.75
    done = [min(run.repeats) for run in runs.values() if run.repeats]
    return max(done) if done else 0.0


def startup_command(tool, args):
    """A command that only starts the tool: loads its libraries or imports, then exits."""
    if tool == "vigil":
        return [str(args.vigil), "--help"]
    if tool == "ffmpeg":
        return [args.ffmpeg, "-hide_banner", "-version"]
    return [args.python, "-c", f"import numpy, {PEER_MODULES[tool]}"]


def measure_startup(tools, args):
    """Best of 3 (wall s, peak RSS MiB) of starting each tool: the fixed cost in every row."""
    startup = {}
    for tool in tools:
        best = None
        for _ in range(3):
            wall, _, rss, status, _, _ = measure(startup_command(tool, args))
            if status == 0 and (best is None or wall < best[0]):
                best = (wall, rss)
        if best:
            startup[tool] = {"wall_seconds": round(best[0], 3), "peak_rss_mib": round(best[1], 1),
                             "command": " ".join(startup_command(tool, args))}
    return startup


def peer_available(tool, args):
    if tool == "ffmpeg":
        return shutil.which(args.ffmpeg) is not None
    check = subprocess.run([args.python, "-c", f"import {PEER_MODULES[tool]}"],
                           capture_output=True)
    return check.returncode == 0


def warm_page_cache(path):
    with open(path, "rb") as file:
        while file.read(1 << 22):
            pass


# ---- reporting ---------------------------------------------------------------------------

def fmt(value, digits=2):
    return f"{value:.{digits}f}"


def clip_table(clip):
    runs = [run for run in clip["runs"] if not run.error and run.frames >= 0]
    runs.sort(key=lambda run: (run.tool == "vigil", int(run.workers) if run.workers.isdigit() else 0))
    peers = [run for run in runs if run.tool != "vigil"]
    fastest = min((run.wall_seconds for run in peers), default=None)
    leanest = min((run.cpu_seconds for run in peers), default=None)
    lines = [f"### {clip['title']}", "",
             f"`{clip['file']}`: {clip['description']}; {clip['duration_seconds']:.0f} s, "
             f"{clip['frame_count']} frames, {clip['keyframe_count']} keyframes, "
             f"{clip['bit_rate'] / 1e6:.2f} Mb/s.", "",
             "| tool | workers | wall s | frames | frames/s | s per hour of video | CPU s | "
             "cores busy | peak RSS MiB | pictures decoded | vs fastest peer | "
             "CPU vs leanest peer |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        per_hour = run.wall_seconds * 3600 / clip["duration_seconds"]
        ratio = f"{fastest / run.wall_seconds:.2f}x" if fastest else "n/a"
        cpu_ratio = f"{leanest / run.cpu_seconds:.2f}x" if leanest else "n/a"
        decoded = str(run.decoded) if run.decoded >= 0 else "all"
        lines.append(
            f"| {run.tool} | {run.workers} | {fmt(run.wall_seconds)} | {run.frames} | "
            f"{fmt(run.frames / run.wall_seconds, 1)} | {fmt(per_hour, 1)} | "
            f"{fmt(run.cpu_seconds)} | {fmt(run.cpu_seconds / run.wall_seconds)} | "
            f"{fmt(run.peak_rss_mib, 0)} | {decoded} | {ratio} | {cpu_ratio} |")
    for run in clip["runs"]:
        if run.error:
            what = run.error if run.error.startswith("skipped") else f"failed: {run.error}"
            lines.append(f"| {run.tool} | {run.workers} | {what[:160]} ||||||||||")
    for note in clip["notes"]:
        lines += ["", f"**{note}**"]
    vigil = sorted((run for run in runs if run.tool == "vigil"), key=lambda run: int(run.workers))
    if vigil and int(vigil[0].workers) == 1 and len(vigil) > 1:
        one = vigil[0].wall_seconds
        lines += ["", f"vigil parallel efficiency on {clip['title']} (t1 / (n * tn)):", "",
                  "| workers | wall s | speed-up vs 1 worker | efficiency |", "|---|---|---|---|"]
        for run in vigil:
            n = int(run.workers)
            lines.append(f"| {n} | {fmt(run.wall_seconds)} | {fmt(one / run.wall_seconds)}x | "
                         f"{100 * one / (n * run.wall_seconds):.0f}% |")
    return "\n".join(lines) + "\n"


def machine_facts():
    lscpu = {}
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            key, _, value = line.partition(":")
            lscpu[key.strip()] = value.strip()
    except OSError:
        pass
    try:  # a container's CPU quota, which nproc does not show
        cpu_max = Path("/sys/fs/cgroup/cpu.max").read_text().strip()
    except OSError:
        cpu_max = ""
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(),
            "cpu_model": lscpu.get("Model name", ""),
            "threads_per_core": lscpu.get("Thread(s) per core", ""),
            "cores_per_socket": lscpu.get("Core(s) per socket", ""),
            "sockets": lscpu.get("Socket(s)", ""), "cgroup_cpu_max": cpu_max,
            "kernel": platform.release(), "python": platform.python_version(),
            "load_average_at_start": os.getloadavg()}


def write_reports(results, args):
    machine = results["machine"]
    header = (f"Machine: nproc {machine['nproc']}, {machine['cpu_model']} "
              f"({machine['threads_per_core']} thread(s) per core); load average at start "
              f"{machine['load_average_at_start'][0]:.2f}. Work: {results['work']}. "
              f"Best of {args.repeat} run(s) per row. Peers skipped (not installed): "
              f"{', '.join(results['peers_skipped']) or 'none'}.\n")
    startup = results.get("startup", {})
    if startup:
        header += ("\nProcess start alone (best of 3; included in every row's wall time and RSS): " +
                   "; ".join(f"{tool} {facts['wall_seconds']:.2f} s, {facts['peak_rss_mib']:.0f} MiB"
                             f" (`{facts['command'].split('/')[-1]}`)"
                             for tool, facts in startup.items()) + ".\n")
    markdown = "\n".join([header] + [clip_table(clip) for clip in results["clips"]])
    if args.markdown_out:
        Path(args.markdown_out).write_text(markdown)
    if args.json_out:
        serialisable = dict(results)
        serialisable["clips"] = [
            {**clip, "runs": [run.__dict__ for run in clip["runs"]]} for clip in results["clips"]]
        Path(args.json_out).write_text(json.dumps(serialisable, indent=1) + "\n")
    return markdown


# ---- main --------------------------------------------------------------------------------

def default_workers():
    cores = len(os.sched_getaffinity(0))
    workers = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= cores]
    return workers + ([cores] if cores not in workers else [])


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default="a,b,c", help="which clips: a,b,c")
    parser.add_argument("--duration-scale", type=float, default=1.0,
                        help="clip length factor, e.g. 0.2 for quick runs (rounded to segments)")
    parser.add_argument("--workers", default=None,
                        help="vigil worker counts, e.g. 1,2,4,8,16 (default: powers of two "
                             "up to the core count)")
    parser.add_argument("--peers", default="ffmpeg,pyav,opencv", help="ffmpeg,pyav,opencv or ''")
    parser.add_argument("--skip-missing-peers", action="store_true",
                        help="skip peers that are not installed instead of failing")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the best is kept")
    parser.add_argument("--media-dir", default=str(REPO / "build" / "bench-media"))
    parser.add_argument("--vigil", default=str(REPO / "build" / "service" / "vigil"))
    parser.add_argument("--loop-tool", default=None,
                        help="vigil_loop_video (default: bench/ in vigil's build folder)")
    parser.add_argument("--ffmpeg", default="ffmpeg", help="the ffmpeg CLI peer")
    parser.add_argument("--ffmpeg-output", choices=["rawvideo", "null"], default="rawvideo",
                        help="ffmpeg peer sink: rgb24 rawvideo to /dev/null, or the null muxer")
    parser.add_argument("--encoder", default="ffmpeg",
                        help="ffmpeg CLI with libx264/libx265 that encodes missing segments")
    parser.add_argument("--python", default=sys.executable, help="interpreter for Python peers")
    parser.add_argument("--time-budget", type=float, default=0,
                        help="seconds; runs that would start later are skipped (0: no limit)")
    parser.add_argument("--prepare-only", action="store_true", help="make the clips, run nothing")
    parser.add_argument("--segments-only", action="store_true",
                        help="with --prepare-only: make the encoded segments only")
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--markdown-out", default=None)
    parser.add_argument("--report-from", default=None, metavar="JSON[,JSON...]",
                        help="print the markdown of earlier --json-out results, run nothing")
    parser.add_argument("--peer-child", nargs=2, metavar=("PEER", "CLIP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.vigil = Path(args.vigil).resolve()
    args.loop_tool = Path(args.loop_tool or args.vigil.parent.parent / "bench" / "vigil_loop_video")
    args.workers = ([int(n) for n in args.workers.split(",")] if args.workers
                    else default_workers())
    args.peers = [peer for peer in args.peers.split(",") if peer]
    for peer in args.peers:
        if peer not in ("ffmpeg", "pyav", "opencv"):
            parser.error(f"unknown peer {peer}")
    args.clips = [key for key in args.clips.split(",") if key]
    for key in args.clips:
        if key not in CLIPS:
            parser.error(f"unknown clip {key} (a, b or c)")
    return args


def main():
    args = parse_args()
    if args.peer_child:
        name, clip = args.peer_child
        print(json.dumps(CHILDREN[name](Path(clip))))
        return 0
    if args.report_from:
        for name in args.report_from.split(","):
            results = json.loads(Path(name).read_text())
            results["clips"] = [{**clip, "runs": [Run(**run) for run in clip["runs"]]}
                                for clip in results["clips"]]
            args.repeat = results.get("repeat") or max(
                (len(run.repeats) for clip in results["clips"] for run in clip["runs"]), default=1)
            print(write_reports(results, args))
        return 0
    if not args.segments_only and not args.vigil.exists():
        sys.exit(f"decode_bench: no vigil binary at {args.vigil} (build it, or pass --vigil)")

    peers = []
    for peer in args.peers:
        if args.prepare_only or peer_available(peer, args):
            peers.append(peer)
        elif args.skip_missing_peers:
            log(f"peer {peer} is not available here: skipped")
        else:
            sys.exit(f"decode_bench: peer {peer} is not available (--skip-missing-peers)")

    started = time.perf_counter()
    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
               "machine": machine_facts(), "command": " ".join(sys.argv),
               "work": f"{SAMPLES_PER_SECOND} frame/s, RGB {OUTPUT_SIZE}x{OUTPUT_SIZE}",
               "peers_skipped": [p for p in args.peers if p not in peers], "repeat": args.repeat,
               "clips": []}
    clips = [(CLIPS[key], make_clip(CLIPS[key], args)) for key in args.clips]
    if args.prepare_only:
        for _, path in clips:
            print(path)
        return 0

    results["startup"] = measure_startup(peers + ["vigil"], args)
    mismatch = False
    for spec, path in clips:
        facts = probe(args.vigil, path)
        clip = {"key": spec.key, "title": spec.title, "file": path.name,
                "description": spec.description, "duration_seconds": facts["duration_seconds"],
                "frame_count": facts["frame_count"], "keyframe_count": facts["keyframe_count"],
                "bit_rate": facts.get("bit_rate") or 0, "runs": [], "notes": []}
        results["clips"].append(clip)
        warm_page_cache(path)
        # Most workers first: when --time-budget runs out, the slow 1-worker rows go first.
        rows = ([(peer, "auto") for peer in peers] +
                [("vigil", n) for n in sorted(args.workers, reverse=True)])
        runs = {row: Run(tool=row[0], workers=str(row[1])) for row in rows}
        clip["runs"] = list(runs.values())
        for repeat in range(args.repeat):
            for row in rows:
                if args.time_budget:
                    expected = expected_seconds(row, runs)
                    elapsed = time.perf_counter() - started
                    if elapsed + expected > args.time_budget:
                        if not runs[row].repeats and not runs[row].error:
                            runs[row].error = (
                                "skipped: --time-budget spent" if elapsed > args.time_budget
                                else f"skipped: --time-budget (would need about {expected:.0f} s,"
                                     f" {args.time_budget - elapsed:.0f} s left)")
                        continue
                run_tool(row[0], row[1], path, args, runs[row])
                write_reports(results, args)
        counts = {f"{run.tool}/{run.workers}": run.frames for run in clip["runs"]
                  if not run.error}
        if len(set(counts.values())) > 1:
            mismatch = True
            clip["notes"].append(f"Frame counts differ: {counts}")
        elif counts:
            clip["notes"].append(f"All tools output {next(iter(counts.values()))} frames.")
    markdown = write_reports(results, args)
    print(markdown)
    if mismatch:
        log("frame counts differ between tools (see the notes under the tables)")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
