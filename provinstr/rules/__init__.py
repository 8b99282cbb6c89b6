"""The rules engine: declarative TOML rule files that say which calls are captured and how."""

from provinstr.rules.loader import (
    RuleError,
    builtin_rule_files,
    load_rule_file,
    load_rules,
    rule_files,
    rules_digest,
)
from provinstr.rules.model import ACTIVITY_KINDS, ENTITY_KINDS, RECORD_KINDS, Rule, normalise

__all__ = [
    "ACTIVITY_KINDS",
    "ENTITY_KINDS",
    "RECORD_KINDS",
    "Rule",
    "RuleError",
    "builtin_rule_files",
    "load_rule_file",
    "load_rules",
    "normalise",
    "rule_files",
    "rules_digest",
]
