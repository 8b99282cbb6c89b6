"""The adapter protocol: hooks the generic capture engine calls around a matched call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.activity import Activity
    from provinstr.capture.run import Run
    from provinstr.rules.model import Rule


@dataclass
class CallContext:
    """One call the rules matched, as the engine and adapters see it."""

    rule: "Rule"
    callee: Callable
    receiver: Any  # the bound method's object (None for plain calls)
    args: tuple
    kwargs: dict  # an adapter may replace entries (e.g. add a callback) before the call
    line: int | None  # source line of the call in the user's script
    filename: str | None
    run: "Run"
    qualified_name: str | None = None  # as the rewriter resolved it, e.g. "keras.layers.Conv2D"
    captured: dict[str, Any] = field(default_factory=dict)  # the arguments the rule keeps, by name
    state: dict[str, Any] = field(default_factory=dict)  # an adapter's own notes about this call, gone with it

    @property
    def name(self) -> str:
        """The callee's qualified name, e.g. keras.src.layers.core.dense.Dense."""
        target = getattr(self.callee, "__func__", self.callee)
        module = getattr(target, "__module__", None) or ""
        qualname = getattr(target, "__qualname__", None) or getattr(target, "__name__", repr(target))
        return f"{module}.{qualname}" if module else qualname


class Adapter:
    """Base adapter: records nothing beyond what the generic engine does. Subclass per framework."""

    name = "generic"

    def describe(self, value: Any) -> Any:
        """A captured argument as a record holds it: scalar, JSON-ready container or summary."""
        from provinstr.capture.values import summarize

        return summarize(value)

    def component(self, obj: Any) -> Any:
        """The component a component call stands for: what it returned, unless the framework knows better."""
        return obj

    def class_name(self, obj: Any) -> str:
        """The public name of an object's class (of the class itself when given one)."""
        import inspect

        from provinstr.rules.model import normalise

        cls = obj if inspect.isclass(obj) else type(obj)
        return normalise(f"{cls.__module__}.{cls.__qualname__}")

    def before_call(self, ctx: CallContext) -> None:
        """Before any matched call runs (e.g. wait until earlier work on the same object is done)."""

    def on_component(self, ctx: CallContext, obj: Any, node: str) -> None:
        """After a component (layer, optimizer, callback ...) was constructed and recorded as `node`."""

    def on_configuration(self, ctx: CallContext, result: Any) -> None:
        """After a configuration call (e.g. compile) returned."""

    def before_activity(self, ctx: CallContext, activity: "Activity") -> None:
        """Before an activity's call runs (e.g. add a callback to ctx.kwargs, fingerprint data)."""

    def after_activity(self, ctx: CallContext, activity: "Activity", result: Any) -> None:
        """After an activity's call returned (its activity is ended by the engine afterwards)."""

    def on_model(self, ctx: CallContext, result: Any, node: str) -> None:
        """After a model was saved and recorded as `node`."""
