"""What each model sees of the data, shown next to it: dims, max input tokens, how many documents and
queries are cut, its prompts, and the vector memory per million documents at the chosen index (what a
Milvus deployment pays for, beside the embedding price).

Usage:
    limits_table(result.model_info, cfg)                 # Retrieval: from the run
    limits_for(ds, names, cfg)                           # Index: computed for the models just built
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from rag.i18n import _
from rag.milvus.index_config import vector_memory_gb
from rag.models.limits import limits_row


def limits_table(model_info: dict, cfg) -> None:
    if not model_info:
        return
    rows = []
    for model, info in model_info.items():
        row = limits_row(model, info)
        if (cut := re.fullmatch(r"([\d,]+) of ([\d,]+)", row["documents cut"])) is not None:  # "3 of 20"
            row["documents cut"] = _("{n} of {total}").format(n=cut[1], total=cut[2])
        row[_("vectors / 1M docs ({index})").format(index=cfg.index_type)] = (
            f"{vector_memory_gb(info['dim'], cfg):.2f} GB" if info.get("dim") else "— (no vectors)")
        rows.append(row)
    from ui.tables import localized

    st.subheader(_("What each model sees"))
    st.caption(_("Max input tokens and how many documents / queries are longer (cut by the model), counted with "
                 "each model's own tokenizer, prompt included; API models against their published limit (an "
                 "estimate, said so). Raise a local model's limit with #max_tokens=N, up to its position limit."))
    st.dataframe(localized(pd.DataFrame(rows)), hide_index=True, width="stretch")


def limits_for(ds, names: list[str], cfg, settings=None) -> None:
    """The table for ``names`` on a text dataset (an image corpus has no token limit to show)."""
    if ds.modality != "text":
        return
    from rag.models.limits import model_limits
    from rag.models.registry import resolve

    try:
        info = {m: model_limits(resolve(m), ds, settings) for m in names}
    except Exception as e:  # a model that cannot load: the build already said why
        st.caption(_("Limits not shown: {error}").format(error=f"{type(e).__name__}: {e}"))
        return
    limits_table(info, cfg)
