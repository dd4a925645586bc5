"""Jobs that orchestrate retrieval, RAG, load tests and the report: the demo (and the decision flow).

Above evaluators/ and loadtests/: nothing below imports flows."""
