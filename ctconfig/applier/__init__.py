"""The applier: carries out a Plan — exactly-once secrets, a write-ahead journal, keep going on failure.

`runner.Applier` schedules actions (accounts in parallel, phases in order);
`steps` carries out one action; `creation` makes each new secret exactly once;
`outcomes` says what happened.
"""

from ctconfig.applier.outcomes import ApplyResult, Outcome, SinkFailure, Status
from ctconfig.applier.runner import Applier

__all__ = ["Applier", "ApplyResult", "Outcome", "SinkFailure", "Status"]
