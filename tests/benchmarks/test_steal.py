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
