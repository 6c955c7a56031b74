#!/usr/bin/python3
"""Clients for vigil's end-to-end tests: a realtime session with Python's websockets, JPEG
pictures pushed one per message, a session with scene-change alerts, and raw socket clients
that misbehave (oversized and invalid WebSocket frames, a reader that never reads, disconnects
mid-answer and mid-upload). Each prints one JSON line.

usage: realtime_client.py MODE HOST PORT API_KEY [VIDEO | PICTURE_DIR] [ALERTS] [FRAMES]
"""
import asyncio
import base64
import json
import os
import socket
import struct
import sys

import websockets


def ws_url(host, port):
    return f"ws://{host}:{port}/v1/realtime"


async def session(host, port, key, video_path):
    """Pushes a real video in chunks, asks three questions at different times, and sends bad
    input along the way; the session must stay open throughout."""
    video = open(video_path, "rb").read()
    chunk = 188 * 256
    summary = {"errors": [], "done": [], "committed": 0, "frames": [], "updated": None}
    async with websockets.connect(ws_url(host, port), extra_headers={"Authorization": f"Bearer {key}"},
                                  max_size=None) as ws:
        created = json.loads(await ws.recv())
        summary["session"] = created["session"]["id"]
        await ws.send("{not json")
        await ws.send(json.dumps({"type": "no.such.event"}))
        await ws.send(json.dumps({"type": "session.update", "session": {"temperature": "hot"}}))
        await ws.send(json.dumps({"type": "session.update",
                                  "session": {"include_video": False, "max_output_tokens": 5}}))
        questions = {3: "first?", 10: "second?", 20: "third?"}
        pending = 0
        sent = 0
        for offset in range(0, len(video), chunk):
            part = video[offset:offset + chunk]
            if sent % 2 == 0:
                await ws.send(part)  # binary append
            else:
                await ws.send(json.dumps({"type": "input_video_buffer.append",
                                          "video": base64.b64encode(part).decode()}))
            sent += 1
            if sent in questions:
                await ws.send(json.dumps({"type": "response.create", "question": questions[sent]}))
                pending += 1
            # Read what has arrived (acks, deltas) before the next chunk.
            while True:
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=0.05)
                except asyncio.TimeoutError:
                    break
                event = json.loads(message)
                record(summary, event)
        while len(summary["done"]) < pending:
            record(summary, json.loads(await ws.recv()))
        await asyncio.sleep(1.0)
        await ws.send(json.dumps({"type": "input_video_buffer.commit"}))
        while True:
            event = json.loads(await ws.recv())
            record(summary, event)
            if event["type"] == "input_video_buffer.committed":
                summary["final_progress"] = event["progress"]
                break
    print(json.dumps(summary))


def record(summary, event):
    kind = event["type"]
    if kind == "error":
        summary["errors"].append(event["error"]["code"])
        if "error_messages" in summary:
            summary["error_messages"].append(event["error"]["message"])
    elif kind == "alert.triggered":
        summary.setdefault("alerts", []).append(event)
    elif kind == "response.done":
        summary["done"].append(event["response"])
        summary["frames"].append(summary.get("last_frames", 0))
    elif kind == "input_video_buffer.committed":
        summary["committed"] += 1
        summary["last_frames"] = event["progress"].get("frames_ingested", 0)
    elif kind == "session.updated":
        summary["updated"] = event["session"]


async def wait_for_frames(ws, summary, frames, seconds=120):
    """Asks for progress until frames_ingested reaches frames (or the deadline); records every
    event on the way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    progress = {}
    while loop.time() < deadline:
        await ws.send(json.dumps({"type": "input_video_buffer.commit"}))
        while True:
            event = json.loads(await ws.recv())
            record(summary, event)
            if event["type"] == "input_video_buffer.committed":
                progress = event["progress"]
                break
        if progress.get("frames_ingested", 0) >= frames:
            break
        await asyncio.sleep(0.3)
    # Whatever is still in flight (alerts of the last frames, late errors).
    while True:
        try:
            record(summary, json.loads(await asyncio.wait_for(ws.recv(), timeout=1.0)))
        except asyncio.TimeoutError:
            break
    return progress


async def jpeg_pictures(host, port, key, picture_dir):
    """JPEG mode: pictures of a real video as base64 events with the client's pts (two a
    second, one of them corrupt), a message that is no JPEG, a pts going backwards; then a
    second session in auto mode whose binary pictures are timed by their arrival."""
    names = sorted(n for n in os.listdir(picture_dir) if n.endswith(".jpg"))
    pictures = [open(os.path.join(picture_dir, n), "rb").read() for n in names]
    summary = {"errors": [], "error_messages": [], "done": [], "committed": 0, "frames": [],
               "updated": None, "alerts": []}
    headers = {"Authorization": f"Bearer {key}"}
    async with websockets.connect(ws_url(host, port), extra_headers=headers, max_size=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "session.update",
                                  "session": {"input_video_format": "jpeg"}}))
        for index, picture in enumerate(pictures):
            if index == 5:  # truncated: passes the SOI check, the decoder rejects it
                picture = picture[:len(picture) // 2]
            await ws.send(json.dumps({"type": "input_video_buffer.append",
                                      "video": base64.b64encode(picture).decode(),
                                      "pts": 100.0 + 0.5 * index}))
            if index == 8:
                await ws.send(b"this is not a JPEG picture")
                await ws.send(json.dumps({"type": "input_video_buffer.append",
                                          "video": base64.b64encode(pictures[0]).decode(),
                                          "pts": 1.0, "event_id": "backwards"}))
                await ws.send(json.dumps({"type": "session.update",
                                          "session": {"input_video_format": "mpegts"}}))
        summary["progress"] = await wait_for_frames(ws, summary, (len(pictures) + 1) // 2)
    auto = {"errors": [], "done": [], "committed": 0, "frames": [], "updated": None, "alerts": []}
    async with websockets.connect(ws_url(host, port), extra_headers=headers, max_size=None) as ws:
        await ws.recv()
        for picture in pictures[:6]:
            await ws.send(picture)  # binary, timed by arrival
            await asyncio.sleep(0.25)
        auto["progress"] = await wait_for_frames(ws, auto, 2)
    summary["auto"] = {"errors": auto["errors"], "progress": auto["progress"]}
    summary.pop("frames")
    print(json.dumps(summary))


async def scene_alerts(host, port, key, video_path, alerts, frames):
    """Pushes a clip with a hard cut as MPEG-TS with scene-change alerts on or off and reports
    the alerts that came back."""
    video = open(video_path, "rb").read()
    chunk = 188 * 64
    summary = {"errors": [], "done": [], "committed": 0, "frames": [], "updated": None,
               "alerts": []}
    async with websockets.connect(ws_url(host, port), extra_headers={"Authorization": f"Bearer {key}"},
                                  max_size=None) as ws:
        await ws.recv()
        if alerts != "default":
            await ws.send(json.dumps({"type": "session.update", "session": {
                "input_video_format": "mpegts",
                "alerts": {"scene_change": alerts == "on", "threshold": 0.3}}}))
        for offset in range(0, len(video), chunk):
            await ws.send(video[offset:offset + chunk])
            while True:
                try:
                    record(summary, json.loads(await asyncio.wait_for(ws.recv(), timeout=0.02)))
                except asyncio.TimeoutError:
                    break
        summary["progress"] = await wait_for_frames(ws, summary, frames)
    summary.pop("frames")
    print(json.dumps(summary))


async def oversize(host, port, key):
    async with websockets.connect(ws_url(host, port), extra_headers={"Authorization": f"Bearer {key}"},
                                  max_size=None) as ws:
        await ws.recv()
        try:
            await ws.send(b"\0" * (8 << 20))
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as closed:
            print(json.dumps({"code": closed.code, "reason": closed.reason}))


async def slow_reader(host, port, key):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    ws = await websockets.connect(ws_url(host, port), sock=sock, max_queue=1, max_size=None,
                                  extra_headers={"Authorization": f"Bearer {key}"})
    big = "x" * 60000
    sent = 0
    try:
        for _ in range(400):
            await asyncio.wait_for(
                ws.send(json.dumps({"type": "session.update", "session": {"instructions": big}})),
                timeout=10)
            sent += 1
    except (websockets.ConnectionClosed, asyncio.TimeoutError, ConnectionError):
        pass
    # Now read: the server must have given up on this client.
    code = None
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=15)
    except websockets.ConnectionClosed as closed:
        code = closed.code
    except asyncio.TimeoutError:
        code = "timeout"
    print(json.dumps({"sent": sent, "code": code}))


def raw_connect(host, port):
    sock = socket.create_connection((host, port), timeout=20)
    return sock


def recv_all(sock):
    data = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except (socket.timeout, ConnectionError):
        pass
    return data


def bad_frame(host, port, key):
    """Completes the handshake, then sends a frame with a reserved opcode: the server must close
    with 1002 (protocol error)."""
    sock = raw_connect(host, port)
    handshake = (f"GET /v1/realtime HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {key}\r\n\r\n")
    sock.sendall(handshake.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    status = response.split(b"\r\n", 1)[0].decode()
    mask = b"\x01\x02\x03\x04"
    payload = b"oops"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes([0x80 | 0x3, 0x80 | len(payload)]) + mask + masked)
    data = response.split(b"\r\n\r\n", 1)[1] + recv_all(sock)
    close_code = None
    # Find the close frame (opcode 8) among the frames received.
    i = 0
    while i + 2 <= len(data):
        opcode = data[i] & 0x0F
        length = data[i + 1] & 0x7F
        header = 2
        if length == 126:
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            header = 4
        body = data[i + header:i + header + length]
        if opcode == 8 and len(body) >= 2:
            close_code = struct.unpack(">H", body[:2])[0]
        i += header + length
    print(json.dumps({"handshake": status, "close_code": close_code}))


def disconnect_mid_answer(host, port, key):
    body = json.dumps({"messages": [{"role": "user", "content": "Tell a long story."}],
                       "max_tokens": 3000, "stream": True}).encode()
    sock = raw_connect(host, port)
    sock.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
                  f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    received = b""
    while received.count(b"data:") < 3:
        part = sock.recv(4096)
        if not part:
            break
        received += part
    sock.close()
    print(json.dumps({"got_deltas": received.count(b"data:")}))


def disconnect_mid_upload(host, port, key):
    sock = raw_connect(host, port)
    sock.sendall((f"POST /v1/files HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
                  "Content-Type: video/x-msvideo\r\nContent-Length: 8000000\r\n\r\n").encode())
    sock.sendall(os.urandom(1 << 20))
    sock.close()
    print(json.dumps({"sent": 1 << 20}))


def main():
    mode, host, port, key = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if mode == "session":
        asyncio.run(session(host, port, key, sys.argv[5]))
    elif mode == "jpeg":
        asyncio.run(jpeg_pictures(host, port, key, sys.argv[5]))
    elif mode == "alerts":
        asyncio.run(scene_alerts(host, port, key, sys.argv[5], sys.argv[6], int(sys.argv[7])))
    elif mode == "oversize":
        asyncio.run(oversize(host, port, key))
    elif mode == "slow":
        asyncio.run(slow_reader(host, port, key))
    elif mode == "badframe":
        bad_frame(host, port, key)
    elif mode == "disconnect-answer":
        disconnect_mid_answer(host, port, key)
    elif mode == "disconnect-upload":
        disconnect_mid_upload(host, port, key)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
