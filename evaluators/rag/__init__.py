"""RAG quality: the job, its rows and tables, the Ragas metric registry and scoring, the judge's LLM, cost."""
