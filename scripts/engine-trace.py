#!/usr/bin/env python3
"""Profile what a command asks of the Docker engine: every API call, when it was
made and how long the engine took to answer.

    scripts/engine-trace.py [--json FILE] -- COMMAND [ARGS...]

COMMAND runs with DOCKER_HOST pointing at a proxy socket in front of the real one
(/var/run/docker.sock). The proxy passes bytes through unchanged and notes, for each
request, its method and path, the time it was sent and the time the first byte of
the answer came back (for `start`, `stop` and `create` the engine answers when the
work is done, so this is the engine's time for it). pier, Compose v1 and Compose v2
all honour DOCKER_HOST, so the same trace can be taken of each (BENCHMARKS.md).

Printed: one line per call (ms since the command started, duration, call), then a
summary per kind of call (count, total and median duration), the wall time, the
time during which the engine had at least one call to answer, and the rest: the
time the tool spent on its own (starting, reading, planning, between calls).
The proxy costs a few hundred microseconds per call: use it to see where the time
goes, not to compare totals (scripts/bench.sh does that).
"""

import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time

# The real engine: where DOCKER_HOST points (a unix socket), else Docker's default.
ENGINE = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
REQUEST = re.compile(rb"^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/1\.[01]\r\n")
T0 = time.monotonic()
calls = []  # dicts: method, path, sent (s), answered (s or None), status


def kind(method, path):
    """A call's path with ids and names taken out, e.g. POST /containers/{}/start."""
    path = re.sub(r"^/v[0-9.]+", "", path.split("?")[0])
    verbs = "create|json|prune"
    path = re.sub(rf"^/(containers|networks|volumes|exec|images)/(?!(?:{verbs})$)[^/]+", r"/\1/{}", path)
    return f"{method} {path}"


async def pipe_requests(reader, writer, pending):
    while data := await reader.read(65536):
        m = REQUEST.match(data)
        if m:
            call = {
                "method": m.group(1).decode(),
                "path": m.group(2).decode(),
                "sent": time.monotonic() - T0,
                "answered": None,
                "status": None,
            }
            calls.append(call)
            pending.append(call)
        writer.write(data)
        await writer.drain()
    writer.close()


async def pipe_answers(reader, writer, pending):
    while data := await reader.read(65536):
        if data.startswith(b"HTTP/1.") and pending:
            call = pending.pop(0)
            call["answered"] = time.monotonic() - T0
            call["status"] = int(data[9:12])
        writer.write(data)
        await writer.drain()
    writer.close()


async def handle(client_reader, client_writer):
    engine_reader, engine_writer = await asyncio.open_unix_connection(ENGINE)
    pending = []
    await asyncio.gather(
        pipe_requests(client_reader, engine_writer, pending),
        pipe_answers(engine_reader, client_writer, pending),
        return_exceptions=True,
    )


async def main(argv):
    json_out = None
    if argv[:1] == ["--json"]:
        json_out, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    sock = os.path.join(tempfile.mkdtemp(prefix="engine-trace."), "docker.sock")
    server = await asyncio.start_unix_server(handle, path=sock)
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
    global T0
    T0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*argv, env=env)
    code = await proc.wait()
    wall = time.monotonic() - T0
    server.close()
    os.unlink(sock)

    for c in calls:
        took = (c["answered"] - c["sent"]) * 1000 if c["answered"] else float("nan")
        print(
            f"{c['sent'] * 1000:8.1f} ms  {took:7.1f} ms  {c['status'] or '---'}  "
            f"{c['method']} {c['path'].split('?')[0]}",
            file=sys.stderr,
        )
    by_kind = {}
    for c in calls:
        if c["answered"]:
            by_kind.setdefault(kind(c["method"], c["path"]), []).append(
                (c["answered"] - c["sent"]) * 1000
            )
    print(f"{'call':48} {'n':>4} {'total ms':>9} {'median ms':>9}", file=sys.stderr)
    for k, ds in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
        print(f"{k:48} {len(ds):4} {sum(ds):9.1f} {statistics.median(ds):9.1f}", file=sys.stderr)
    # Time with at least one call in flight is the engine's; the rest is the
    # tool's own (starting, reading files, planning, deciding what to do next).
    spans = sorted((c["sent"], c["answered"]) for c in calls if c["answered"])
    busy, end = 0.0, 0.0
    for start, stop in spans:
        if stop > end:
            busy += stop - max(start, end)
            end = stop
    print(
        f"wall: {wall * 1000:.0f} ms, engine answering: {busy * 1000:.0f} ms, "
        f"tool alone: {(wall - busy) * 1000:.0f} ms, exit code {code}",
        file=sys.stderr,
    )
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"wall_ms": wall * 1000, "exit": code, "calls": calls}, f, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
