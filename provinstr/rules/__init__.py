"""The rules engine: declarative TOML rule files that say which calls are captured and how."""

from provinstr.rules.model import ACTIVITY_KINDS, ENTITY_KINDS, RECORD_KINDS, Rule, normalise

__all__ = ["ACTIVITY_KINDS", "ENTITY_KINDS", "RECORD_KINDS", "Rule", "normalise"]
