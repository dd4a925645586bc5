"""Statistics over stored runs: significance tests and intervals, comparisons, per-run statistics, run kinds."""
