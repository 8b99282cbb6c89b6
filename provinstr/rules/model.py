"""What a rule is: data saying which calls to capture, what they are, and which arguments to keep."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Iterable, Mapping

# What a matched call is; "epochs" marks loops, "values" assignments, "hook" a per-step call the adapter handles.
RECORD_KINDS = ("component", "activity", "configuration", "model", "hook", "epochs", "values")
# The pi: activity classes a rule may name.
ACTIVITY_KINDS = ("Training", "Test", "Inference", "Transformation")
# The pi: entity classes a component rule may name.
ENTITY_KINDS = ("Layer", "Optimizer", "Callback", "Estimator", "Dataset", "Component")


@dataclass(frozen=True)
class Rule:
    """One rule of a rule file (see docs/rules.md for the TOML format)."""

    id: str
    origin: str  # "path/to/rules.toml:12", for messages and --explain
    record: str  # one of RECORD_KINDS
    calls: tuple[str, ...] = ()  # qualified-name patterns of callables, e.g. "keras.layers.*"
    method: str | None = None  # a method name, matched by spelling; the receiver is checked at run time
    receivers: tuple[str, ...] = ()  # qualified class names the method's receiver must be an instance of
    functions: tuple[str, ...] = ()  # the user's own functions, by name (e.g. "dense_block")
    loops: tuple[str, ...] = ()  # name patterns: a loop naming one (target, iterable or test) is an epoch loop
    assigns: tuple[str, ...] = ()  # name patterns: assignments to these names are the epoch's values
    entity: str | None = None  # for components: a pi: entity class in ENTITY_KINDS
    activity: str | None = None  # for activities: a pi: activity class in ACTIVITY_KINDS
    label: str | None = None  # rdfs:label of the activity (default: the callable's name)
    capture: Mapping[str, bool] = field(default_factory=dict)  # argument switches; "*" is the default
    adapter: str | None = None  # framework adapter that adds what only it knows (e.g. "keras")
    options: Mapping[str, Any] = field(default_factory=dict)  # adapter switches (save_model, per_batch ...)

    def captures(self, argument: str) -> bool:
        """The rule's switch for an argument: its own entry, else the "*" default (False if none)."""
        if argument in self.capture:
            return bool(self.capture[argument])
        return bool(self.capture.get("*", False))

    def matches_name(self, qualified_name: str) -> bool:
        """True when a call's (normalised) qualified name matches one of the `calls` patterns."""
        return any(fnmatchcase(qualified_name, pattern) for pattern in self.calls)

    def matches_loop(self, names: "Iterable[str]") -> bool:
        """True when one of the names a loop mentions matches a `loops` pattern (case-insensitive)."""
        return any(fnmatchcase(name.lower(), pattern.lower()) for name in names for pattern in self.loops)

    def matches_assign(self, name: str) -> bool:
        """True when an assigned name matches an `assigns` pattern (case-insensitive)."""
        return any(fnmatchcase(name.lower(), pattern.lower()) for pattern in self.assigns)

    def option(self, name: str) -> Any:
        """The rule's setting of an option, else the default its adapter (or the engine) declares."""
        if name in self.options:
            return self.options[name]
        from provinstr.rules.adapters import declared_default

        return declared_default(self.adapter, name)


def normalise(qualified_name: str) -> str:
    """One spelling per Keras name: tensorflow.keras.X, tf.keras.X and tf_keras.X become keras.X."""
    for prefix in ("tensorflow.keras.", "tensorflow.python.keras.", "tf.keras.", "tf_keras."):
        if qualified_name.startswith(prefix):
            return "keras." + qualified_name[len(prefix):]
    if qualified_name in ("tensorflow.keras", "tf.keras"):
        return "keras"
    return qualified_name
