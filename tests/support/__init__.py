"""Test helpers shared across test packages: local servers speaking a remote wire format, tiny models."""
