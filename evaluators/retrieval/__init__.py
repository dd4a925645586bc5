"""Retrieval scoring: trec_eval-exact metrics and the evaluation of a retrieval comparison."""
