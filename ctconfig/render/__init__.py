"""Views of plans, state diffs and drift: text for terminals, markdown for pull requests, JSON."""
