"""Decide: the six steps of choosing an embedding model as one guided flow ending in a decision record.

Modules, one per step: ``brief`` (1), ``analysis`` (2), ``shortlist`` (3), ``evaluate`` (4), ``plan``
(5), ``verify`` (6), ``record`` (7: the recommendation); ``flow.run_decide`` runs them in order.
"""
