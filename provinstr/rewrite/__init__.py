"""Instrumenting user code: match calls against the rules (libcst) and wrap them, in a file or in memory."""

from provinstr.rewrite.plan import HELPER, Match, Plan, explain, make_plan
from provinstr.rewrite.runner import Target, TargetError, execute, module_target, script_target
from provinstr.rewrite.transformer import instrument, rewrite_source

__all__ = [
    "HELPER",
    "Match",
    "Plan",
    "Target",
    "TargetError",
    "execute",
    "explain",
    "instrument",
    "make_plan",
    "module_target",
    "rewrite_source",
    "script_target",
]
