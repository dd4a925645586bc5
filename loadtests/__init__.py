"""Load tests: a FastAPI service over ``rag/``, Locust scripts and a runner."""
