"""Old name of ``evaluators.rag_tables`` (the RAG page's tables), kept until ``pages/4_RAG_quality.py``
imports the new one. Import ``evaluators.rag_tables`` in new code.

Usage:
    from evaluators.rag_tables import metrics_frame
"""

from evaluators.rag_tables import (  # noqa: F401
    drilldown,
    metric_status,
    metrics_figure,
    metrics_frame,
    metrics_table,
    question_frame,
    run_caption,
)
