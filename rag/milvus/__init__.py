"""Milvus: collections (store), index config, what a server can run, the embedded Lite server, its watchdog."""
