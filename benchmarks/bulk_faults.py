"""The bulk engine against a faulty emulator in its own process: exactly-once, and throughput.

``--exactly-once N``: ``add_collection`` of N tasks with every fault mixed (the emulator's
``hostile`` preset, drip feeds and late commits with short settings, ``Retry-After: 0``). The
emulator's signed ``/_emulator/stats`` (per-task commit counts) is compared with what the SDK
reported: **lost** (reported added, never committed), **duplicated** (committed more than
once), **misreported** (committed but reported failed), **not reported** (no result: the run
stopped before reading it). The run fails unless all are zero. Unconfirmed tasks (outcome not
known, said so) are counted and their reasons printed.

``--throughput N``: N tasks at 20 ms latency and concurrency 64, clean against 5% per-task
``ServerBusy`` (``task_server_error``), ``--pairs`` pairs alternating (drift hits both alike);
the report gives the median tasks per second of each and their ratio. The busy run ends with
a tail of per-task backoff waits (0.5 s, 1 s, 2 s... by default) that a short run cannot
amortize: give enough tasks, or a smaller ``--backoff-base`` to see the steady state.

    .venv/bin/python benchmarks/bulk_faults.py --exactly-once 200000
    .venv/bin/python benchmarks/bulk_faults.py --throughput 20000 --pairs 3
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from collections import Counter
from typing import Any

import anyio

from batch_tasks_async import BatchClient, BulkRetryPolicy, SharedKeyCredential, models
from batch_tasks_async.emulator import GARBLE_KINDS, EmulatorConfig, EmulatorProcess, FaultConfig

ACCOUNT = "bulkbench"
KEY = base64.b64encode(b"bulk-faults-benchmark-key-0123456").decode()
JOB = "bench-job"
SUCCESS = models.TaskAddStatus.SUCCESS


def _emulator(faults: FaultConfig) -> EmulatorProcess:
    config = EmulatorConfig(
        account_name=ACCOUNT, account_key=KEY, jobs=(JOB,), faults=faults, lifecycle="manual"
    )
    process = EmulatorProcess(config)
    process.start()
    return process


def _tasks(count: int, prefix: str) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "commandLine": "echo hi"} for i in range(count)]


async def _add(
    url: str,
    tasks: list[dict[str, Any]],
    *,
    concurrency: int,
    policy: BulkRetryPolicy,
    attempt_timeout: float,
) -> tuple[models.TaskAddCollectionResult, float]:
    async with BatchClient(url, SharedKeyCredential(ACCOUNT, KEY)) as client:
        start = time.perf_counter()
        result = await client.task.add_collection(
            JOB,
            tasks,
            concurrency=concurrency,
            retry_policy=policy,
            attempt_timeout=attempt_timeout,
            raise_on_failure=False,
        )
        return result, time.perf_counter() - start


def exactly_once(count: int, seed: int, skip_garble: frozenset[str]) -> bool:
    faults = FaultConfig.preset(
        "hostile",
        seed=seed,
        garbled_kinds=GARBLE_KINDS - skip_garble,
        retry_after=0,
        drip_feed=0.005,
        drip_interval=0.02,
        commit_late=0.01,
        commit_late_seconds=0.3,
    )
    process = _emulator(faults)
    try:
        tasks = _tasks(count, "once")
        policy = BulkRetryPolicy(
            max_attempts=15, max_throttled_attempts=60, backoff_base=0.0, jitter=0.0
        )
        result, seconds = anyio.run(
            lambda: _add(
                process.url or "", tasks, concurrency=32, policy=policy, attempt_timeout=3.0
            )
        )
        snap = process.stats(per_task=True)
    finally:
        process.stop()
    commits: dict[str, int] = snap["task_commit_counts"].get(JOB, {})
    reported = {r.task_id: r for r in result.value or []}
    lost = duplicated = misreported = unreported = unconfirmed = 0
    reasons: Counter[str] = Counter()
    for task in tasks:
        task_id = task["id"]
        n = commits.get(task_id, 0)
        entry = reported.get(task_id)
        duplicated += n > 1
        if entry is None:
            unreported += 1  # never read: the run stopped early
            continue
        is_unconfirmed = entry.error is not None and entry.error.code == "TaskNotConfirmed"
        unconfirmed += is_unconfirmed
        if is_unconfirmed and entry.error is not None:
            message = entry.error.message
            reasons[(message.value if message is not None else None) or ""] += 1
        if entry.status is SUCCESS:
            lost += n == 0
        elif not is_unconfirmed and n:
            misreported += 1  # committed, yet reported failed
    extra = len(set(commits) - {t["id"] for t in tasks})
    print(
        f"exactly-once, {count:,} tasks, hostile mix (seed {seed}): {seconds:.1f} s, "
        f"{count / seconds:,.0f} tasks/s; committed {len(commits):,} distinct "
        f"({extra} not in the input); lost {lost}, duplicated {duplicated}, "
        f"misreported {misreported}, not reported {unreported}, unconfirmed {unconfirmed}, "
        f"more than once (emulator) {snap['tasks_committed_more_than_once']}"
    )
    print(
        f"  requests {snap['requests_total']:,}, faults injected {snap['faults_total']:,}: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(snap["faults"].items()))
    )
    for reason, n in reasons.most_common(5):
        print(f"  unconfirmed {n:,}: {reason}")
    return lost == duplicated == misreported == unreported == extra == 0


def throughput(count: int, pairs: int, backoff_base: float | None) -> None:
    policy = (
        BulkRetryPolicy() if backoff_base is None else BulkRetryPolicy(backoff_base=backoff_base)
    )
    clean = _emulator(FaultConfig(latency_ms=20.0))
    busy = _emulator(FaultConfig(seed=1, latency_ms=20.0, task_server_error=0.05))
    rates: dict[str, list[float]] = {"clean": [], "busy": []}
    try:
        for pair in range(pairs):
            for name, process in (("clean", clean), ("busy", busy)):
                process.reset()
                result, seconds = anyio.run(
                    lambda p=process, n=pair: _add(  # type: ignore[misc]
                        p.url or "",
                        _tasks(count, f"t{n}"),
                        concurrency=64,
                        policy=policy,
                        attempt_timeout=60.0,
                    )
                )
                added = sum(r.status is SUCCESS for r in result.value or [])
                if added != count:
                    bad = [r for r in result.value or [] if r.status is not SUCCESS]
                    raise SystemExit(f"{name}: {added} of {count} added; first: {bad[:3]!r}")
                rates[name].append(count / seconds)
    finally:
        clean.stop()
        busy.stop()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"throughput, {count:,} tasks, 20 ms latency, concurrency 64, {pairs} pairs, "
        f"backoff_base {policy.backoff_base} s: "
        f"clean {medians['clean']:,.0f} tasks/s, 5% per-task ServerBusy "
        f"{medians['busy']:,.0f} tasks/s (ratio {medians['busy'] / medians['clean']:.2f}; "
        f"target >= 0.5)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--exactly-once", type=int, metavar="N", help="tasks, every fault mixed")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument(
        "--skip-garble",
        action="append",
        default=[],
        choices=sorted(GARBLE_KINDS),
        help="leave this garble kind out of the mix (repeatable)",
    )
    parser.add_argument("--throughput", type=int, metavar="N", help="tasks per run")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument(
        "--backoff-base",
        type=float,
        help="BulkRetryPolicy.backoff_base of the throughput runs (default: the policy's)",
    )
    args = parser.parse_args()
    if args.exactly_once is None and args.throughput is None:
        parser.error("give --exactly-once N and/or --throughput N")
    ok = True
    if args.exactly_once:
        ok = exactly_once(args.exactly_once, args.seed, frozenset(args.skip_garble))
    if args.throughput:
        throughput(args.throughput, args.pairs, args.backoff_base)
    if not ok:
        sys.exit("exactly-once violated")


if __name__ == "__main__":
    main()
