"""Datasets: every way data enters (BEIR folders, tables, documents, images), validation, samples, question sets."""
