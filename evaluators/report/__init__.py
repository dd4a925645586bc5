"""The stakeholder report and what reads stored runs for people: sections, charts, frontier, history, CI gate."""
