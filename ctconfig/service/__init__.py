"""The service layer: each user-facing operation as one function that returns a result.

`planning` (plan), `applying` (apply), `recovery` (finish an interrupted apply),
`adoption` (import, export), `state_edits` (state rm/mv/push/…), `audit` (the
one place audit records are built), on a `workspace` (config, backend,
provider, sink). The CLI and the tests call these; none of them prints.
"""
