"""The benchmarks' steal figure: the hypervisor's share of CPU time between two ``/proc/stat`` readings."""

from __future__ import annotations

import importlib
import sys

from tests.conftest import ROOT


def _setup():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module("_setup")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_steal_between_two_hand_written_readings(tmp_path):
    s = _setup()
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice (the last two are inside user already)
    stat.write_text("cpu  100 0 50 800 10 0 5 35 7 0\ncpu0 50 0 25 400 5 0 2 18 3 0\n")
    before = s.cpu_steal(str(stat))
    assert before == (35, 1000)
    stat.write_text("cpu  250 0 80 1450 10 0 10 235 9 0\n")
    after = s.cpu_steal(str(stat))
    assert after == (235, 2035)
    # 200 ticks stolen of 1,035 elapsed: 19.3 %
    assert s.steal_pct(before, after) == 19.3
    assert s.steal_pct(after, after) is None  # no time passed
    assert s.steal_pct(None, after) is None
    assert s.cpu_steal(str(tmp_path / "absent")) is None  # not Linux: no figure, no error


def test_rounds_split_by_steal_into_the_quieter_half_and_the_rest():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        by_steal = importlib.import_module("bench_service_overhead").by_steal
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    # four rounds: lean ÷ plain 1.0, 1.1 in the quiet ones (steal 0 and 1 %), 1.4, 1.6 in the others (5, 20 %)
    rounds = [{"plain": [2.0], "lean": [3.2], "steal": [20.0]}, {"plain": [2.0], "lean": [2.0], "steal": [0.0]},
              {"plain": [2.0], "lean": [2.8], "steal": [5.0]}, {"plain": [2.0], "lean": [2.2], "steal": [1.0]}]
    quiet, busy = by_steal(rounds)
    assert (quiet["pairs"], quiet["median"], quiet["steal_max"]) == (2, 1.05, 1.0)
    assert (busy["pairs"], busy["median"]) == (2, 1.5)
    # too few rounds with a steal figure to split: none
    assert by_steal(rounds[:3])[0]["pairs"] == 0
    # every round alike (the host stole nothing): no quieter half to show
    assert by_steal([r | {"steal": [0.0]} for r in rounds])[0]["pairs"] == 0
