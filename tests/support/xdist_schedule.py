"""How ``make test`` shares the suite between two pytest-xdist workers (``-n 2 --dist loadfile``).

Why not xdist's own modes: ``load`` hands out single tests, which splits a module's ordered journey
(``tests/e2e/test_journey.py``'s test_01..test_07) and pays every module fixture (a demo run, a sweep, a
browser) once per worker; ``loadfile`` keeps modules whole but orders them by their number of tests, so a
module with one 90 s test (the benchmarks' smoke run) may start last and leave the other worker idle, and it
would split the browser modules that share one app; ``loadgroup`` could keep those together, but pytest-xdist
3.8 marks a group by rewriting ``item._nodeid``, which pytest 9 no longer reads, so its groups never form.

Here a work unit is a whole module, or the browser modules that share one ``streamlit run``
(``SHARED_APP_MODULES`` in tests/conftest.py: they must meet their worker's fresh data folder, the demo first, so
they are one unit, always the first handed out), and the units go out longest first (LPT scheduling), by the
seconds measured for them below; units not listed follow in xdist's order (most tests first). A unit is never
split, so module and package fixtures are set up once. The figures only order the queue: a wrong or missing one
costs time, never a result.

Usage (tests/conftest.py)::

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(config, log):
        from tests.support.xdist_schedule import LongestFirst
        return LongestFirst(config, log) if config.getvalue("dist") == "loadfile" else None
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

from tests.conftest import SHARED_APP_GROUP, SHARED_APP_MODULES

# Seconds per unit on this 2-core box under two workers (2026-12-06 22:24, the sum of each unit's tests' setup,
# call and teardown, from the run's reports), the heaviest ~20; refresh when a module's weight moves a lot.
MEASURED_SECONDS: dict[str, float] = {
    SHARED_APP_GROUP: 500.0,
    "tests/e2e/test_journey.py": 160.0,
    "tests/robustness/test_faults.py": 121.0,
    "tests/flows/test_demo.py": 119.0,
    "tests/benchmarks/test_smoke.py": 99.0,
    "tests/sweep/test_setup_export.py": 86.0,
    "tests/load/test_loadtest_runner.py": 61.0,
    "tests/flows/test_decide.py": 50.0,
    "tests/cli/test_cli.py": 41.0,
    "tests/e2e/test_sign_in.py": 40.0,
    "tests/sweep/test_sweep.py": 38.0,
    "tests/models/test_hub_models.py": 35.0,
    "tests/retrieval/test_images_retrieval.py": 33.0,
    "tests/cli/test_cli_smoke.py": 31.0,
    "tests/cli/test_chinese_cli.py": 30.0,
    "tests/load/test_loadtest_distributed.py": 27.0,
    "tests/models/test_custom_models.py": 26.0,
    "tests/milvus/test_milvus_server_real.py": 25.0,
    "tests/robustness/test_robustness_doors.py": 24.0,
    "tests/milvus/test_milvus_server.py": 22.0,
    "tests/pages/test_page_decide.py": 21.0,
}


class LongestFirst(LoadScopeScheduling):
    """xdist's ``loadfile`` with the shared-app modules as one unit, longest units first.

    Usage: returned by ``pytest_xdist_make_scheduler`` in tests/conftest.py for ``--dist loadfile``."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return SHARED_APP_GROUP if module in SHARED_APP_MODULES else module

    def _assign_work_unit(self, node) -> None:
        """Hand ``node`` the shared-app group if still queued, else the heaviest unit still queued (ties and
        unlisted units: in queue order, xdist's most-tests-first). The first unit a worker gets is the first thing
        it runs, so the shared-app group meets a fresh data folder."""
        order = {scope: i for i, scope in enumerate(self.workqueue)}
        heaviest = min(self.workqueue, key=lambda s: (s != SHARED_APP_GROUP, -MEASURED_SECONDS.get(s, 0.0), order[s]))
        self.workqueue.move_to_end(heaviest, last=False)
        super()._assign_work_unit(node)
