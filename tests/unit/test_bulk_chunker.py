"""Property tests of the bulk chunker and the compact id set."""

from __future__ import annotations

import itertools
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch_tasks_async._bulk import Chunker, IdSet
from batch_tasks_async._bulk._chunker import ENVELOPE_BYTES, body_size, build_body
from batch_tasks_async._bulk._idset import id_key


def _pack(sizes: list[int], max_tasks: int, max_bytes: int) -> tuple[list[list[int]], list[int]]:
    chunker: Chunker[int] = Chunker(max_tasks, max_bytes)
    rejected = [i for i, size in enumerate(sizes) if not chunker.add(i, size)]
    chunker.flush()
    return list(chunker.ready), rejected


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=2, max_value=600), max_size=400),
    max_tasks=st.integers(min_value=1, max_value=100),
    max_bytes=st.integers(min_value=64, max_value=4000),
)
def test_chunks_respect_both_limits_and_keep_every_task_once_in_order(
    sizes: list[int], max_tasks: int, max_bytes: int
) -> None:
    chunks, rejected = _pack(sizes, max_tasks, max_bytes)
    # Rejected tasks are exactly those that cannot fit alone, and they are rejected alone.
    assert rejected == [i for i, s in enumerate(sizes) if s + ENVELOPE_BYTES > max_bytes]
    flat = [i for chunk in chunks for i in chunk]
    assert flat == [i for i in range(len(sizes)) if i not in set(rejected)]  # once, in order
    for chunk in chunks:
        assert 1 <= len(chunk) <= max_tasks
        assert body_size(sizes[i] for i in chunk) <= max_bytes
    # Greedy: a chunk is only closed when the next task would not have fitted.
    for first, second in itertools.pairwise(chunks):
        if len(first) < max_tasks:
            assert body_size([*(sizes[i] for i in first), sizes[second[0]]]) > max_bytes


@settings(max_examples=100, deadline=None)
@given(
    tasks=st.lists(
        st.fixed_dictionaries(
            {"id": st.text(min_size=1, max_size=20), "commandLine": st.text(max_size=80)}
        ),
        max_size=60,
    ),
    max_bytes=st.integers(min_value=64, max_value=2000),
)
def test_body_size_is_exact_for_real_json(tasks: list[dict[str, str]], max_bytes: int) -> None:
    parts = [orjson.dumps(task) for task in tasks]
    chunker: Chunker[bytes] = Chunker(100, max_bytes)
    for part in parts:
        chunker.add(part, len(part))
    chunker.flush()
    for chunk in chunker.ready:
        body = build_body(chunk)
        assert len(body) == body_size(len(p) for p in chunk)
        assert len(body) <= max_bytes
        assert orjson.loads(body)["value"] == [orjson.loads(p) for p in chunk]


def test_lowered_packing_limit_sends_big_tasks_alone_but_never_rejects_them() -> None:
    chunker: Chunker[str] = Chunker(100, 1000)
    chunker.max_bytes = 300  # learned from a 413
    assert chunker.add("a", 100)
    assert chunker.add("big", 500)  # over the learned limit, within the hard one: alone
    assert chunker.add("b", 100)
    assert not chunker.add("huge", 1000)  # cannot fit in any request
    chunker.flush()
    assert list(chunker.ready) == [["a"], ["big"], ["b"]]


def test_chunk_is_emitted_as_soon_as_it_is_full() -> None:
    chunker: Chunker[int] = Chunker(3, 10_000)
    for i in range(3):
        chunker.add(i, 10)
    assert list(chunker.ready) == [[0, 1, 2]]
    assert len(chunker) == 0


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_tasks"):
        Chunker(0, 1000)
    with pytest.raises(ValueError, match="max_bytes"):
        Chunker(10, ENVELOPE_BYTES)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), max_size=3000))
def test_idset_agrees_with_a_set_of_id_keys(ids: list[str]) -> None:
    seen: set[str] = set()
    idset = IdSet()
    for task_id in ids:
        assert idset.add(task_id) == (id_key(task_id) not in seen)
        seen.add(id_key(task_id))
    assert len(idset) == len(seen)
    assert all(task_id in idset for task_id in ids)


def test_idset_is_compact_and_grows() -> None:
    idset = IdSet()
    rng = random.Random(7)
    n = 300_000
    for i in range(n):
        assert idset.add(f"task-{i}-{rng.random()}")
    assert idset.add("Mixed-Case-Id")
    assert not idset.add("mIXED-cASE-iD")  # the service compares ids case-insensitively
    assert len(idset) >= n
    assert idset.nbytes / len(idset) <= 21  # 10 to 20 bytes per id (80% .. 40% load)
    assert "Task-5-nope" not in idset
    assert 5 not in idset


def test_id_key_is_ordinal_per_character_without_expansions() -> None:
    assert id_key("Task-1") == id_key("tASK-1")
    assert id_key("STRASSE") != id_key("straße")
    assert id_key("ǅ") == id_key("ǆ")  # a title-case letter folds like any other
    idset = IdSet()
    assert idset.add("straße")
    assert idset.add("STRASSE")
    assert not idset.add("Strasse")
