"""Where a profiled run's CPU went, by layer: ``python -m benchmarks.profile_summary FILE``.

``FILE`` is py-spy's ``--format raw`` output (folded stacks, one ``frame;frame;... count`` per
line), for example from ``python -m benchmarks.transport_cpu --profile DIR``. Only samples taken
inside the event loop count (start-up and imports, even those made on first use inside the
loop, are left out); each sample goes to the layer
of its innermost frame, so the shares add up to 100%; a second table gives each sample to the
part of the SDK it was spent for (the innermost SDK frame on its stack), so the anyio and
socket calls the transport makes count as the transport's. With ``--us-per-task X`` (the run's
measured CPU per task) the shares are also shown in µs per task.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = ["LAYERS", "layer_of", "main", "summarize_stacks"]

#: (layer, patterns of the innermost frame's file), first match wins.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("transport (batch_tasks_async._http_*)", ("batch_tasks_async/_http_",)),
    ("httptools (response parsing, C)", ("httptools/",)),
    ("httpcore and h11", ("httpcore/", "h11/")),
    ("httpx (requests, responses, client, cookies)", ("httpx/", "urllib/request.py",
                                                      "http/cookiejar.py")),
    ("anyio", ("anyio/", "sniffio/")),
    ("event loop, sockets and TLS", ("asyncio/", "selectors.py", "socket.py", "ssl.py", "trio/")),
    ("bulk engine", ("batch_tasks_async/_bulk/",)),
    ("serialization and models", ("_serialization.py", "models.py", "cattrs", "attrs generated",
                                  "attr/", "orjson", "_dates.py")),
    ("pipeline, signing, ids", ("batch_tasks_async/_pipeline.py", "_credentials.py", "_retry.py",
                                "_routes.py", "_response.py", "hmac.py", "hashlib", "uuid.py",
                                "email/", "base64.py", "tenacity/")),
    ("operations", ("batch_tasks_async/_operations.py", "batch_tasks_async/_paging.py")),
    ("the caller building its task models", ("tasks.<locals>", "generate (benchmarks/")),
)  # fmt: skip

_FILE = re.compile(r"\(([^()]*?)(?::\d+)?\)$")


def layer_of(frame: str) -> str:
    """The layer of one py-spy frame (``function (path:line)``)."""
    match = _FILE.search(frame)
    where = match[1] if match else frame
    for layer, patterns in LAYERS:
        if any(p in where or p in frame for p in patterns):
            return layer
    return "other (benchmark code, stdlib)"


#: (owner, patterns): the innermost frame of the SDK (or httpx, or the caller) a sample is under.
OWNERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("transport, with the anyio/httptools/socket calls it makes", ("batch_tasks_async/_http_",)),
    ("httpx, under the SDK", ("httpx/",)),
    ("bulk engine, with its anyio task groups and streams", ("batch_tasks_async/_bulk/",)),
    ("serialization and models", ("batch_tasks_async/_serialization.py",
                                  "batch_tasks_async/models.py", "batch_tasks_async/_dates.py")),
    ("pipeline, signing, ids, retries", ("batch_tasks_async/_pipeline.py",
                                         "batch_tasks_async/_credentials.py",
                                         "batch_tasks_async/_retry.py",
                                         "batch_tasks_async/_routes.py",
                                         "batch_tasks_async/_response.py")),
    ("operations", ("batch_tasks_async/_operations.py", "batch_tasks_async/_paging.py")),
    ("the caller building its task models", ("tasks.<locals>", "generate (benchmarks/")),
)  # fmt: skip


def owner_of(frames: list[str]) -> str:
    """Who a sample's CPU is spent for: the innermost frame that belongs to an owner."""
    for frame in reversed(frames):
        for owner, patterns in OWNERS:
            if any(p in frame for p in patterns):
                return owner
    return "the event loop itself (socket callbacks, task scheduling)"


def summarize_stacks(lines: Iterable[str], *, by_owner: bool = False) -> tuple[int, Counter[str]]:
    """Samples inside the event loop, and how many of them each layer (or owner) had."""
    layers: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit() or ("_run_once" not in stack and "trio/_core" not in stack):
            continue
        if "importlib._bootstrap" in stack:
            continue  # a module imported on first use: once per process, not per task
        samples = int(count)
        total += samples
        frames = stack.split(";")
        layers[owner_of(frames) if by_owner else layer_of(frames[-1])] += samples
    return total, layers


def main(argv: list[str] | None = None) -> None:
    """Print the table for each profile given."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_summary")
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--us-per-task", type=float, nargs="*", default=[])
    args = parser.parse_args(argv)
    for index, path in enumerate(args.profiles):
        lines = path.read_text().splitlines()
        scale = args.us_per_task[index] if index < len(args.us_per_task) else None
        for title, by_owner in (("by innermost frame", False), ("by SDK part", True)):
            total, layers = summarize_stacks(lines, by_owner=by_owner)
            print(f"{path.name}: {total} samples in the event loop, {title}")
            for layer, samples in layers.most_common():
                share = samples / total if total else 0.0
                extra = f"  {share * scale:5.2f} µs/task" if scale is not None else ""
                print(f"  {share:6.1%}  {layer}{extra}")


if __name__ == "__main__":
    main()
