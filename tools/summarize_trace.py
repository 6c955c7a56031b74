#!/usr/bin/env python3
"""Summarises a Chrome trace from torch's profiler (bench/vision_bench.cpp --profile): per
operation name, the number of calls, the inclusive time and the self time (inclusive less the
operations nested in it on the same thread), sorted by self time. With CUDA_LAUNCH_BLOCKING=1
an operation's CPU time includes its kernels, so self time is where the GPU time went.

    python3 tools/summarize_trace.py TRACE.json [--top 25]
"""
import argparse
import collections
import json


def intervals(events):
    """(tid, start, end, name) of complete ('X') events and of matched 'B'/'E' pairs."""
    open_events = collections.defaultdict(list)
    for event in events:
        phase = event.get("ph")
        tid = event.get("tid", 0)
        if phase == "X":
            yield tid, float(event["ts"]), float(event["ts"]) + float(event.get("dur", 0)), event["name"]
        elif phase == "B":
            open_events[tid].append(event)
        elif phase == "E" and open_events[tid]:
            begin = open_events[tid].pop()
            yield tid, float(begin["ts"]), float(event["ts"]), begin["name"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with open(args.trace) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    spans = sorted(intervals(events), key=lambda s: (s[0], s[1], -s[2]))
    calls = collections.Counter()
    inclusive = collections.Counter()
    self_time = collections.Counter()
    stack = []  # (end, name) of enclosing spans on the current thread
    current_tid = None
    total = 0.0
    for tid, start, end, name in spans:
        if tid != current_tid:
            stack, current_tid = [], tid
        while stack and stack[-1][0] <= start:
            stack.pop()
        duration = end - start
        calls[name] += 1
        inclusive[name] += duration
        self_time[name] += duration
        if stack:
            self_time[stack[-1][1]] -= duration
        else:
            total += duration
        stack.append((end, name))
    print(f"top-level time {total / 1000:.2f} ms")
    print(f"{'operation':48s} {'calls':>6s} {'self ms':>9s} {'self %':>7s} {'incl ms':>9s}")
    for name, value in self_time.most_common(args.top):
        print(f"{name[:48]:48s} {calls[name]:6d} {value / 1000:9.2f} "
              f"{100 * value / max(total, 1e-9):6.1f}% {inclusive[name] / 1000:9.2f}")


if __name__ == "__main__":
    main()
