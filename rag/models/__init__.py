"""Models: the embedding registry, text and image encoders, the embedding cache, devices, LLM endpoints, generators."""
