#!/usr/bin/env python3
"""pier watch against Compose v2's watch on the same stack, in one run.

For each tool: the same project (a service built from a busybox image with one
`sync` rule, ./src -> /app/src) is brought up and watched; then
  - latency: 20 edits of one file, each timed from the moment the write is
    closed on the host to the moment the new content is readable in the
    container (polled every millisecond through the container's root file
    system, the engine's merged overlay directory, which is what the container
    sees; no `docker exec` in the loop);
  - batch: 1,000 new files written in a new directory, timed from the moment
    the last one is written to the moment all 1,000 are readable in the
    container (3 rounds, median): what the tool adds after the writer is done.
    (Writing them takes a second or two on a loaded 2-core machine; both tools
    sync during the writing, so a time from the first write would mostly
    measure the writer.)
Prints a Markdown table with pier / compose ratios and the targets
(latency <= 0.3x, batch <= 0.5x).

Usage: scripts/bench_watch.py --pier PATH --compose PATH [--edits N] [--rounds N]
It creates only projects named pierbench-watch-* and the image
pier-bench/busybox:2, and removes the projects again.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

IMAGE = "pier-bench/busybox:2"
IDLE = "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]"
DEADLINE = 120.0


def sh(*args, check=True, **kw):
    return subprocess.run(args, check=check, capture_output=True, text=True, **kw)


def ensure_image():
    if sh("docker", "image", "inspect", IMAGE, check=False).returncode == 0:
        return
    with tempfile.TemporaryDirectory() as d:
        shutil.copy("/bin/busybox", os.path.join(d, "busybox"))
        pathlib.Path(d, "Dockerfile").write_text(
            "FROM scratch\nCOPY busybox /bin/busybox\n"
            'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp && chmod 1777 /tmp"]\n'
        )
        sh("docker", "build", "-q", "-t", IMAGE, d)


def project_dir(name):
    d = pathlib.Path(tempfile.mkdtemp(prefix=name + "-"))
    (d / "app").mkdir()
    (d / "src").mkdir()
    (d / "app" / "Dockerfile").write_text(f"FROM {IMAGE}\n")
    (d / "compose.yaml").write_text(
        f"name: {name}\n"
        "services:\n"
        "  app:\n"
        "    build: ./app\n"
        f"    command: {IDLE}\n"
        "    develop:\n"
        "      watch:\n"
        "        - path: ./src\n"
        "          action: sync\n"
        "          target: /app/src\n"
    )
    return d


class Watcher:
    """The tool's watch process, its output collected until `ready` shows."""

    def __init__(self, argv, cwd, ready):
        self.out = []
        self.proc = subprocess.Popen(
            argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        until(lambda: any(ready in line for line in self.out), f"{argv[0]} watching")

    def _read(self):
        for line in self.proc.stdout:
            self.out.append(line)

    def stop(self):
        self.proc.send_signal(2)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def until(f, what, poll=0.001):
    deadline = time.monotonic() + DEADLINE
    while True:
        v = f()
        if v:
            return v
        if time.monotonic() > deadline:
            sys.exit(f"gave up waiting for {what}")
        time.sleep(poll)


def merged_dir(container):
    return pathlib.Path(sh("docker", "inspect", "-f", "{{.GraphDriver.Data.MergedDir}}", container).stdout.strip())


def read(path):
    try:
        return path.read_text()
    except OSError:
        return None


def latencies(src, root, edits):
    out = []
    for i in range(edits + 1):
        text = f"edit {i} {time.time_ns()}\n"
        with open(src / "edit.txt", "w") as f:
            f.write(text)
        t0 = time.monotonic()
        until(lambda: read(root / "app/src/edit.txt") == text, f"edit {i}")
        if i > 0:  # the first edit warms up
            out.append((time.monotonic() - t0) * 1000)
        time.sleep(0.2)
    return out


def batch(src, root, n, tag):
    d = src / f"batch-{tag}"
    d.mkdir()
    for i in range(n):
        (d / f"f{i}.txt").write_text(f"{tag} {i}\n")
    t0 = time.monotonic()
    target = root / f"app/src/batch-{tag}"

    def done():
        try:
            return len(os.listdir(target)) == n and read(target / f"f{n - 1}.txt") == f"{tag} {n - 1}\n"
        except OSError:
            return False

    until(done, f"batch {tag}", poll=0.002)
    return (time.monotonic() - t0) * 1000


def measure(tool, pier, compose, edits, rounds):
    name = f"pierbench-watch-{tool}"
    d = project_dir(name)
    container = f"{name}-app-1"
    try:
        if tool == "pier":
            w = Watcher([pier, "--progress", "plain", "watch"], d, "watching ")
        else:
            sh(compose, "up", "-d", "--build", cwd=d)
            w = Watcher([compose, "watch"], d, "Watch enabled")
        root = merged_dir(container)
        try:
            lat = latencies(d / "src", root, edits)
            batches = [batch(d / "src", root, 1000, f"{tool}{r}") for r in range(rounds)]
        finally:
            w.stop()
        return lat, batches
    finally:
        if tool == "pier":
            sh(pier, "-p", name, "down", "-t", "1", cwd=d, check=False)
        else:
            sh(compose, "down", "-t", "1", cwd=d, check=False)
        sh("docker", "image", "rm", "-f", f"{name}-app", check=False)
        shutil.rmtree(d, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pier", required=True)
    p.add_argument("--compose", required=True)
    p.add_argument("--edits", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    ensure_image()
    res = {t: measure(t, os.path.abspath(a.pier), os.path.abspath(a.compose), a.edits, a.rounds) for t in ("pier", "compose")}
    (pl, pb), (cl, cb) = res["pier"], res["compose"]
    med = statistics.median
    rows = [
        ("latency, median", med(pl), med(cl), 0.3),
        ("latency, worst", max(pl), max(cl), 0.3),
        ("batch of 1,000 files, after the last write, median", med(pb), med(cb), 0.5),
    ]
    print(f"{a.edits} edits of one file (after one warm-up edit), {a.rounds} batches of 1,000 new files; milliseconds.")
    print()
    print("| what | pier | compose v2 | pier / compose | target | met |")
    print("|---|---:|---:|---:|---:|:-:|")
    for what, p_, c_, target in rows:
        ratio = p_ / c_
        met = "yes" if ratio <= target else "**no**"
        print(f"| {what} | {p_:.0f} | {c_:.0f} | {ratio:.2f} | ≤ {target} | {met} |")
    print()
    print(f"Every latency, pier: {', '.join(f'{x:.0f}' for x in pl)}")
    print(f"Every latency, compose v2: {', '.join(f'{x:.0f}' for x in cl)}")
    print(f"Batches, pier: {', '.join(f'{x:.0f}' for x in pb)}; compose v2: {', '.join(f'{x:.0f}' for x in cb)}")


if __name__ == "__main__":
    main()
