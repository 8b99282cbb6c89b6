"""The adapter protocol: the hooks the capture engine calls around a matched call, and finding an adapter by name.

An adapter (provinstr/adapters/<name>/) is found by the name a rule gives (`adapter = "keras"`) and
imported only when a rule of it fires, so provinstr never imports a framework the script did not.
"""

from __future__ import annotations

import importlib
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
    caller: Any = None  # the frame of the script's call, while it runs: the names its variables have

    def name_of(self, value: Any, default: str) -> str:
        """The name the script gave `value` (a local, else a global variable bound to it), else `default`."""
        return name_in_frame(self.caller, value, default)

    @property
    def name(self) -> str:
        """The callee's qualified name, e.g. keras.src.layers.core.dense.Dense."""
        target = getattr(self.callee, "__func__", self.callee)
        module = getattr(target, "__module__", None) or ""
        qualname = getattr(target, "__qualname__", None) or getattr(target, "__name__", repr(target))
        return f"{module}.{qualname}" if module else qualname


def name_in_frame(frame: Any, value: Any, default: str) -> str:
    """The name `value` is bound to in `frame` (a local, else a global), else `default`."""
    if frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for name, bound in scope.items():
                if bound is value and not name.startswith("_"):
                    return name
    return default


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
        from provinstr.capture.records import class_name

        return class_name(obj)

    def component_class(self, ctx: CallContext, component: Any, returned: Any) -> str:
        """The class name a component node records: as the call was written, unless it returned something else."""
        if ctx.qualified_name and returned is component:
            return ctx.qualified_name
        return self.class_name(component)

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

    def hook(self, rule: "Rule", callee: Callable, receiver: Any) -> Callable:
        """For record = "hook" rules (per-step calls such as loss.backward()): what to call instead of
        `callee`, on the training thread with no engine in between; `callee` itself to leave it alone."""
        return callee

    def epoch_loop(self, rule: "Rule", line: int, name: str, kind: str, planned: int | None = None,
                   frame: Any = None) -> Any:
        """For record = "epochs" rules: an observer of this loop's epochs (capture.epochs.EpochObserver),
        or None to let the loop run untouched. `kind` is "for" or "while"; `name` the loop variable;
        `planned` how many epochs the loop's iterable holds, when it says (a range, a list); `frame` the
        frame the loop runs in (to tell a loop still running from one left by break)."""
        return None

    def on_value(self, rule: "Rule", name: str, value: Any, line: int) -> None:
        """For record = "values" rules: the script just assigned `value` to `name` (per batch, in some loops)."""


_BASE = Adapter()
_loaded: dict[str, Adapter] = {}


def get_adapter(name: str | None) -> Adapter:
    """The adapter a rule names (the do-nothing base adapter for None), imported on first use."""
    if name is None:
        return _BASE
    adapter = _loaded.get(name)
    if adapter is None:
        from provinstr.rules.adapters import module_of

        adapter = _loaded[name] = importlib.import_module(module_of(name)).ADAPTER
    return adapter
