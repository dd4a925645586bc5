"""The built-in samples, written by our own code or shipped as small files: text (languages) and images."""
