"""How far to trust the judge: agreement with qrels, judge noise, a second judge."""
