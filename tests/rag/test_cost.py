"""Price table, usage meter, spend cap and estimates."""

from __future__ import annotations

import json

import pytest

from evaluators.rag.cost import Estimate, PriceTable, SpendCap, UsageMeter, approx_tokens


def test_price_table_matches_exact_then_longest_prefix_and_flags_unpriced():
    p = PriceTable.default()
    assert p.price("gpt-4o-mini") == (0.15, 0.60)
    assert p.price("gpt-4o-mini-2024-07-18") == (0.15, 0.60)   # not gpt-4o's price
    assert p.price("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert p.price("llama3.1") is None
    assert p.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert p.cost("llama3.1", 10**6, 10**6) == 0.0


def test_price_table_is_editable(tmp_path):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({"my-model": [1.0, 2.0], "gpt-4o-mini": [0.3, 0.3]}))
    p = PriceTable.from_json(f)
    assert p.price("my-model") == (1.0, 2.0) and p.price("gpt-4o-mini") == (0.3, 0.3)
    assert PriceTable.from_json('{"x": 5}').price("x") == (5.0, 5.0)
    rows = p.rows()
    assert PriceTable.from_rows(rows).prices == p.prices
    with pytest.raises(ValueError):
        PriceTable.from_json('{"x": [-1, 1]}')


def test_usage_meter_and_spend_cap():
    m = UsageMeter()
    m.add("gpt-4o-mini", 1200, 80)
    m.add("gpt-4o-mini", 800, 20)
    m.add("llama3.1", 500, 50)
    prices = PriceTable.default()
    assert m.totals() == {"calls": 3, "prompt_tokens": 2500, "completion_tokens": 150}
    assert m.cost(prices) == pytest.approx((2000 * 0.15 + 100 * 0.60) / 1e6)
    d = m.to_dict(prices)
    assert d["unpriced_models"] == ["llama3.1"] and d["cost_usd"] > 0
    m2 = UsageMeter()
    m2.merge(d["by_model"])
    assert m2.totals() == m.totals()
    assert not SpendCap(None).reached(1e9)
    assert SpendCap(0.001).reached(0.001) and not SpendCap(0.001).reached(0.0009)
    assert "resume" in SpendCap(0.5).describe(0.51)


def test_estimate_and_token_rule_of_thumb():
    assert approx_tokens("abcd" * 10) == 10 and approx_tokens(5) == 2
    e = Estimate(rows=2)
    e.add("generator", "gpt-4o-mini", 2, 1000, 100)
    e.add("judge", "gpt-4o", 10, 20000, 2000)
    prices = PriceTable.default()
    assert e.total_calls == 12 and e.total_tokens == 23100
    assert e.cost(prices) == pytest.approx((1000 * 0.15 + 100 * 0.6 + 20000 * 2.5 + 2000 * 10) / 1e6)
    assert e.seconds(concurrency=4) == 3.0
    assert e.summary(prices)["unpriced_models"] == []
