"""What LLM calls cost: an editable price table, a usage meter, pre-run estimates and a spend cap.

Prices are USD per 1M tokens (input, output). The defaults are OpenAI's list prices for common
models (as published in 2025; edit them on the page or pass ``--prices FILE.json`` — prices change,
and a run records the table it used). A model name matches its exact entry, else the longest entry it
starts with (``gpt-4o-mini-2024-07-18`` → ``gpt-4o-mini``). Models with no entry (a local Ollama model,
a test server) cost 0 and are reported as *unpriced*, never silently as free.

Token counts in estimates are characters ÷ 4, deliberately: counting exactly needs tiktoken, which
downloads its BPE files on first use and fails offline. Real runs report the token usage the API returns.

Usage:
    prices = PriceTable.default()
    meter = UsageMeter()
    meter.add("gpt-4o-mini", prompt_tokens=1200, completion_tokens=80)
    meter.cost(prices)                      # 0.000228
    SpendCap(0.50).reached(meter.cost(prices))
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

from rag.i18n import _

# USD per 1M tokens: (input, output). A new model is one entry.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o4-mini": (1.10, 4.40),
    "gpt-3.5-turbo": (0.50, 1.50),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
}


def approx_tokens(text_or_chars: str | int) -> int:
    """Characters ÷ 4, rounded up: the usual rule of thumb for English, and no tokenizer download."""
    n = text_or_chars if isinstance(text_or_chars, int) else len(text_or_chars)
    return math.ceil(n / 4)


@dataclass
class PriceTable:
    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    @classmethod
    def default(cls) -> PriceTable:
        return cls()

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> PriceTable:
        """``{"model": [input_per_1M, output_per_1M], ...}`` merged over the defaults."""
        p = Path(path_or_text) if not str(path_or_text).lstrip().startswith("{") else None
        raw = json.loads(p.read_text() if p else str(path_or_text))
        table = cls()
        for model, v in raw.items():
            inp, out = (v, v) if isinstance(v, (int, float)) else (v[0], v[1] if len(v) > 1 else v[0])
            if inp < 0 or out < 0:
                raise ValueError(_("price for {model} must not be negative").format(model=model))
            table.prices[model] = (float(inp), float(out))
        return table

    @classmethod
    def from_rows(cls, rows: list[dict]) -> PriceTable:
        """From the page's editable table: rows with model, input_per_1m, output_per_1m."""
        return cls({str(r["model"]): (float(r.get("input_per_1m") or 0), float(r.get("output_per_1m") or 0))
                    for r in rows if r.get("model")})

    def rows(self) -> list[dict]:
        return [{"model": m, "input_per_1m": i, "output_per_1m": o} for m, (i, o) in self.prices.items()]

    def price(self, model: str) -> tuple[float, float] | None:
        if model in self.prices:
            return self.prices[model]
        best = max((m for m in self.prices if model.startswith(m)), key=len, default=None)
        return self.prices[best] if best else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        p = self.price(model)
        return 0.0 if p is None else (prompt_tokens * p[0] + completion_tokens * p[1]) / 1e6

    def to_json(self) -> dict:
        return {m: list(v) for m, v in self.prices.items()}


class UsageMeter:
    """Token usage per model, added from any thread or task as calls complete."""

    def __init__(self):
        self._lock = threading.Lock()
        self.by_model: dict[str, dict[str, int]] = {}

    def add(self, model: str, prompt_tokens: int = 0, completion_tokens: int = 0, calls: int = 1) -> None:
        with self._lock:
            u = self.by_model.setdefault(model or "unknown", {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0})
            u["calls"] += calls
            u["prompt_tokens"] += int(prompt_tokens or 0)
            u["completion_tokens"] += int(completion_tokens or 0)

    def merge(self, usage: dict[str, dict[str, int]]) -> None:
        for model, u in (usage or {}).items():
            self.add(model, u.get("prompt_tokens", 0), u.get("completion_tokens", 0), u.get("calls", 0))

    def cost(self, prices: PriceTable) -> float:
        with self._lock:
            return sum(prices.cost(m, u["prompt_tokens"], u["completion_tokens"]) for m, u in self.by_model.items())

    def totals(self) -> dict[str, int]:
        with self._lock:
            return {k: sum(u[k] for u in self.by_model.values())
                    for k in ("calls", "prompt_tokens", "completion_tokens")}

    def unpriced(self, prices: PriceTable) -> list[str]:
        return [m for m in self.by_model if prices.price(m) is None]

    def to_dict(self, prices: PriceTable | None = None) -> dict:
        with self._lock:
            out = {"by_model": json.loads(json.dumps(self.by_model))}
        out.update(self.totals())
        if prices is not None:
            out["cost_usd"] = round(self.cost(prices), 6)
            out["unpriced_models"] = self.unpriced(prices)
        return out


@dataclass
class Estimate:
    """Expected LLM work of a run before it starts (calls are exact counts; tokens are ≈ chars ÷ 4)."""

    rows: int = 0
    calls: dict[str, int] = field(default_factory=dict)          # "generator", "judge"
    prompt_tokens: dict[str, int] = field(default_factory=dict)
    completion_tokens: dict[str, int] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)         # role -> model name
    per_metric_calls: dict[str, int] = field(default_factory=dict)

    def add(self, role: str, model: str, calls: int, prompt_tokens: int, completion_tokens: int) -> None:
        self.models[role] = model
        self.calls[role] = self.calls.get(role, 0) + calls
        self.prompt_tokens[role] = self.prompt_tokens.get(role, 0) + prompt_tokens
        self.completion_tokens[role] = self.completion_tokens.get(role, 0) + completion_tokens

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_tokens(self) -> int:
        return sum(self.prompt_tokens.values()) + sum(self.completion_tokens.values())

    def cost(self, prices: PriceTable) -> float:
        return sum(prices.cost(self.models[r], self.prompt_tokens.get(r, 0), self.completion_tokens.get(r, 0))
                   for r in self.models)

    def unpriced(self, prices: PriceTable) -> list[str]:
        return sorted({m for m in self.models.values() if prices.price(m) is None})

    def seconds(self, concurrency: int, seconds_per_call: float = 1.0) -> float:
        """A lower bound on wall time if every call took ``seconds_per_call``."""
        return self.total_calls * seconds_per_call / max(1, concurrency)

    def summary(self, prices: PriceTable) -> dict:
        return {"rows": self.rows, "calls": dict(self.calls), "total_calls": self.total_calls,
                "prompt_tokens": dict(self.prompt_tokens), "completion_tokens": dict(self.completion_tokens),
                "total_tokens": self.total_tokens, "cost_usd": round(self.cost(prices), 6),
                "unpriced_models": self.unpriced(prices), "per_metric_calls": dict(self.per_metric_calls)}


@dataclass(frozen=True)
class SpendCap:
    """Stop starting new rows once the run has spent ``limit_usd`` (rows in flight finish and are kept)."""

    limit_usd: float | None = None

    def reached(self, spent_usd: float) -> bool:
        return self.limit_usd is not None and spent_usd >= self.limit_usd

    def describe(self, spent_usd: float) -> str:
        return _("spend cap {cap} reached (spent {spent}); resume with a higher cap to go on").format(
            cap=f"${self.limit_usd:.4f}", spent=f"${spent_usd:.4f}")
