"""The judge benchmark's floor: the wall time of a run's call graph with zero overhead, worked out by hand."""

from __future__ import annotations

import importlib
import sys

from tests.conftest import ROOT


def _floor():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module("bench_ragas_concurrency").schedule_floor
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_the_floor_of_hand_worked_call_graphs():
    floor = _floor()
    # one row: its answer (1 s), then its longest chain (3 calls) -> 4 s, however many slots
    assert floor(1, 8, [2, 3, 3, 1]) == 4.0
    # one slot: every call one after another: 1 + 2 + 3 + 3 + 1 = 10 calls
    assert floor(1, 1, [2, 3, 3, 1]) == 10.0
    # 50 rows at 64: the first second holds only the 50 answers; then 450 calls need ceil(450 / 64) = 8 s
    assert floor(50, 64, [2, 3, 3, 1]) == 9.0
    # 50 rows at 32: 500 calls fill every slot but the last second's: ceil(500 / 32) = 16 s
    assert floor(50, 32, [2, 3, 3, 1]) == 16.0
    # enough rows to fill 64 slots from the first second: exactly the ideal, 1280 calls / 64
    assert floor(128, 64, [2, 3, 3, 1]) == 20.0
    # half-second calls halve it
    assert floor(128, 64, [2, 3, 3, 1], latency=0.5) == 10.0
    # two rows in flight at most, two slots, chains of one call: rows run 2 at a time, 2 calls each
    assert floor(4, 2, [1], rows_in_flight=2) == 4.0
