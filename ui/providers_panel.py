"""The embedding providers' presets on the Index page: price, token limit, dims, input type, and whether a
key is set for each provider's endpoint; a key typed here is this browser session's, bound to that
provider's URL (``rag.models.providers.provider_key``), never written anywhere or shown again."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rag.i18n import _
from ui.state import apply_provider_key, session_settings


def providers_panel() -> None:
    """The presets table (type a spec from it in "Your own models") and a per-provider key form."""
    from rag.models.providers import PROVIDERS, provider_rows

    s = session_settings()
    from ui.tables import localized

    with st.expander(_("API providers: price, limits, input types, keys")):
        frame = pd.DataFrame(provider_rows(s))
        frame["key set"] = frame["key set"].map({True: "✅ set", False: "❎ not set"})
        st.dataframe(localized(frame), hide_index=True, width="stretch")
        st.caption(_("Type a spec from the table in *Your own models* (`PROVIDER:MODEL[:DIMS]`). "
                     "\"unverified\": the number is not from the provider's own page; an unknown price "
                     "is shown as unknown cost, never $0."))
        name = st.selectbox(_("Provider"), list(PROVIDERS), format_func=lambda n: PROVIDERS[n].label,
                            key="provider_key_provider")
        p = PROVIDERS[name]
        key = st.text_input(_("{provider} API key (default: {variable})").format(provider=p.label, variable=p.key_env),
                            type="password", key="provider_key_input",
                            help=_("Sent only to {url}; kept in this session's memory only.").format(
                                url=p.own_base_url(s)))
        if st.button(_("Use this key"), key="provider_key_apply"):
            apply_provider_key(p.own_base_url(s), key)
            st.rerun()
