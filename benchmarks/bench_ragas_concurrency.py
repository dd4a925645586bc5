"""RAG quality job concurrency: how close does a run get to the ideal LLM-bound wall time?

The local OpenAI-compatible test server (tests/support/openai_test_server.py, in its own process) answers
every chat call after ``--latency`` seconds (1 s by default). A run of 50 rows (25 sample questions,
the 16 originals + 9 reworded, × models minilm and bm25) with an LLM generator and an LLM judge scoring
faithfulness, answer relevancy, context precision (k = 3) and context recall makes
50 × (1 + 2 + 3 + 3 + 1) = 500 chat calls. Ideal wall time = calls × latency ÷ concurrency; the figure
is measured wall time ÷ ideal (goal ≤ 1.3). Beside it, this process' CPU time per LLM call (every thread:
the event loop, the encoder thread): what decides the ratio once the calls in flight outpace one core, and a
figure that a shared machine's load barely moves. A 1-row warm-up run first loads Ragas, MiniLM and the
Milvus collections, so one-off start-up is not counted.

**The floor.** calls × latency ÷ concurrency assumes every slot is busy from the first second to the last,
which the calls' order forbids: a row's judge calls wait for its answer, and faithfulness (2 calls), answer
relevancy (3 questions) and context precision (k contexts) ask one after another. So each line also gives
the floor: the wall time of the same call graph under the run's first-come-first-served limit with zero
overhead (``schedule_floor``, whole latencies). With 50 rows at 64 the floor is already 1.152 × ideal (only 50
answers can be in flight in the first second); ``--fill`` gives each concurrency at least the rows a run keeps in
flight (2 per slot), so 64 calls can be in flight from the first second.

Usage:
    python benchmarks/bench_ragas_concurrency.py [--latency 1] [--concurrency 8,16,32] [--rows 50] [--fill]

Uses a temporary data folder and its own Milvus Lite server, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.request

from _setup import ROOT, cleanup, free_port, isolated_workbench, parse  # noqa: E402  (puts the project on sys.path)


def _admin(base: str, path: str, body: dict | None = None) -> dict:
    url = base.replace("/v1", "") + path
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"}, method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def schedule_floor(rows: int, concurrency: int, chains: list[int], latency: float = 1.0,
                   rows_in_flight: int | None = None) -> float:
    """Wall time of ``rows`` rows under a first-come-first-served limit of ``concurrency`` calls, each call
    taking exactly ``latency`` and nothing else taking any time: a row's answer first, then its metrics'
    ``chains`` (calls asked one after another within a chain, the chains side by side); at most
    ``rows_in_flight`` rows started at once (the job's 2 per slot), the next when one finishes."""
    seq = itertools.count()
    waiting: list[tuple[int, int, int]] = []          # (arrival order, row, calls left in the chain; -1: answer)
    events: list[tuple[float, int, int, int]] = []   # (done at, order, row, calls left)
    in_flight, left, started, end = 0, {}, 0, 0.0

    def start_row() -> None:
        nonlocal started
        started += 1
        heapq.heappush(waiting, (next(seq), started, -1))

    for _r in range(min(rows, rows_in_flight or 2 * concurrency)):
        start_row()
    now = 0.0
    while True:
        while in_flight < concurrency and waiting:
            _o, row, n = heapq.heappop(waiting)
            in_flight += 1
            heapq.heappush(events, (now + latency, next(seq), row, n))
        if not events:
            return end
        now, _o, row, n = heapq.heappop(events)
        in_flight, end = in_flight - 1, now
        if n == -1:
            left[row] = len(chains)
            for c in chains:
                heapq.heappush(waiting, (next(seq), row, c))
        elif n > 1:
            heapq.heappush(waiting, (next(seq), row, n - 1))
        else:
            left[row] -= 1
            if left[row] == 0 and started < rows:
                start_row()


PREFIXES = ["", "In short: ", "Briefly: ", "Put simply: ", "In a few words: ", "Quickly: ", "Plainly: ",
            "To sum up: "]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--concurrency", default="8,16,32")
    ap.add_argument("--rows", type=int, default=50, help="even: half per model")
    ap.add_argument("--fill", action="store_true",
                    help="at least 2 rows per slot at each concurrency (the rows a run keeps in flight)")
    args = parse(ap, smoke={"latency": 0.01, "concurrency": "4", "rows": 2})
    concs = [int(c) for c in args.concurrency.split(",")]
    rows_for = {c: max(args.rows, 2 * c) if args.fill else args.rows for c in concs}
    tmp = isolated_workbench()
    port = free_port()
    # run as a module from the project root: the server imports tests.support.* (a path to the file alone
    # left the project off sys.path: ModuleNotFoundError: No module named 'tests')
    server = subprocess.Popen([sys.executable, "-m", "tests.support.openai_test_server", "--port", str(port),
                               "--latency", str(args.latency)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    base = server.stdout.readline().strip()

    from evaluators.rag.config import RagConfig
    from evaluators.rag.job import run_rag
    from rag.data.question_sets import EvalQuestion, questions_from_dataset, save_question_set
    from rag.data.samples.text import load_sample
    from rag.retrieval import Retriever

    try:
        ds = load_sample()
        qs = questions_from_dataset(ds)
        n_q = max(rows_for.values()) // 2     # the sample's questions, then reworded ones (distinct prompts)
        variants = [EvalQuestion(f"{q.id}-{i}" if i else q.id, f"{pre}{q.question}", q.reference,
                                 q.reference_contexts, q.relevant_ids)
                    for i, pre in enumerate(PREFIXES) for q in qs]
        save_question_set("bench", variants[:n_q])
        metrics = ["faithfulness", "answer_relevancy", "context_precision", "context_recall"]
        k = 3
        chains = [2, 3, k, 1]                 # the judge calls per metric, asked one after another
        with Retriever() as wb:
            def cfg(conc: int, limit: int | None = None) -> RagConfig:
                return RagConfig(models=["minilm", "bm25"], generator=f"compat:gen@{base}",
                                 judge=f"compat:judge@{base}", metrics=metrics, k=k, concurrency=conc,
                                 timeout=60, max_retries=0, question_set="bench", limit=limit)

            _admin(base, "/admin/config", {"latency": 0.0})
            run_rag(ds, cfg(4, limit=1), retriever=wb)     # warm-up: imports, MiniLM, collections
            _admin(base, "/admin/config", {"latency": args.latency})
            results = []
            for conc in concs:
                _admin(base, "/admin/reset", {})
                _admin(base, "/admin/config", {"latency": args.latency})
                t, cpu = time.perf_counter(), time.process_time()
                res = run_rag(ds, cfg(conc, limit=rows_for[conc] // 2), retriever=wb)
                wall, cpu = time.perf_counter() - t, time.process_time() - cpu
                stats = _admin(base, "/admin/stats")
                calls = stats["chat_calls"]
                ideal = calls * args.latency / conc
                floor = schedule_floor(len(res.rows), conc, chains, args.latency)
                scored = sum(v["n"] for m in res.summary["metrics"].values() for v in m.values())
                results.append({"concurrency": conc, "rows": len(res.rows), "llm_calls": calls,
                                "wall_s": round(wall, 2), "ideal_s": round(ideal, 2), "ratio": round(wall / ideal, 3),
                                "floor_s": round(floor, 2), "floor_ratio": round(floor / ideal, 3),
                                "wall_over_floor": round(wall / floor, 3),
                                "peak_in_flight": stats["max_in_flight"], "failed_rows": res.summary["failed_rows"],
                                "scores": scored, "cpu_ms_per_call": round(cpu / max(1, calls) * 1000, 2),
                                "load": round(os.getloadavg()[0], 1)})
                print(json.dumps(results[-1]), flush=True)
        print("\n| concurrency | rows | LLM calls | wall (s) | ideal (s) | wall ÷ ideal | floor ÷ ideal | "
              "wall ÷ floor | peak in flight | CPU per call (ms) | load |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results:
            print(f"| {r['concurrency']} | {r['rows']} | {r['llm_calls']} | {r['wall_s']} | {r['ideal_s']} | "
                  f"**{r['ratio']}** | {r['floor_ratio']} | {r['wall_over_floor']} | {r['peak_in_flight']} | "
                  f"{r['cpu_ms_per_call']} | {r['load']} |")
    finally:
        server.terminate()
        server.wait(timeout=10)
        cleanup(tmp)


if __name__ == "__main__":
    main()
