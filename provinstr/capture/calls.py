"""The generic capture engine: what happens when a call matched by a rule runs.

Rewritten code calls `wrap(callee, rule_ids, line, name)(*args, **kwargs)`. The engine picks the
rule (for method rules: the first whose receiver type matches at run time; none → the call
runs untouched), records the call as the rule's kind says (component / activity /
configuration / model), and lets the rule's framework adapter add what only it knows.
The original callable is called exactly once; its result and exceptions pass through.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable

from provinstr.capture import records
from provinstr.capture.activity import ENTITY, Activity
from provinstr.capture.arguments import bound_arguments
from provinstr.capture.hooks import CallContext, get_adapter
from provinstr.capture.nquads import IRI
from provinstr.capture.run import current_run
from provinstr.capture.safety import guard
from provinstr.capture.values import summarize
from provinstr.vocab import MLS, PI, RDF, RDFS

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.rules.model import Rule

_rules: dict[str, "Rule"] = {}
_filename: str | None = None
_local = threading.local()  # per thread: the activity calls in progress


def activate(rules: Iterable["Rule"], filename: str | None = None) -> None:
    """Make these rules the ones rewritten code refers to by id (later rules do not replace earlier)."""
    global _filename
    for rule in rules:
        _rules.setdefault(rule.id, rule)
    _hooks.clear()
    if filename is not None:
        _filename = filename


def active_rules(rule_ids: Iterable[str]) -> list["Rule"]:
    """The activated rules of these ids, in order (ids not activated are left out)."""
    return [_rules[rule_id] for rule_id in rule_ids if rule_id in _rules]


def wrap(
    callee: Callable, rule_ids: str | tuple[str, ...], line: int | None = None, name: str | None = None
) -> Callable:
    """The callable rewritten code calls instead of `callee` (callee itself when nothing matches).

    `line` is the call's line in the user's source; `name` the normalised qualified name the
    rewriter resolved for it (e.g. "keras.layers.Conv2D"), when it could.
    """
    fast = _hooks.get(rule_ids)
    if fast is None:
        fast = _hooks[rule_ids] = _hook_rule(rule_ids)  # type: ignore[index]
    if fast:
        return fast(callee)
    rule = None
    receiver = getattr(callee, "__self__", None)
    with guard("matching a capture rule"):
        rule = _select(callee, receiver, (rule_ids,) if isinstance(rule_ids, str) else rule_ids)
    if rule is None:
        return callee
    return functools.partial(_call, rule, callee, receiver, line, name)


class _HookRule:
    """A record = "hook" rule on the per-step path: the receiver's type checked once per type, then the adapter."""

    __slots__ = ("rule", "adapter", "fits")

    def __init__(self, rule: "Rule") -> None:
        self.rule, self.adapter, self.fits = rule, get_adapter(rule.adapter), {}

    def __call__(self, callee: Callable) -> Callable:
        receiver = getattr(callee, "__self__", None)
        try:
            fits = self.fits.get(type(receiver))
            if fits is None:
                fits = self.fits[type(receiver)] = receiver_matches(receiver, self.rule.receivers)
            return self.adapter.hook(self.rule, callee, receiver) if fits else callee
        except Exception as error:  # noqa: BLE001 - the call runs untouched
            from provinstr.capture.safety import report

            report(error, f"capturing {self.rule.id}")
            return callee


_hooks: dict[Any, Any] = {}  # rule ids -> their _HookRule when they are one hook rule, else False


def _hook_rule(rule_ids: Any) -> "_HookRule | bool":
    ids = (rule_ids,) if isinstance(rule_ids, str) else rule_ids
    rules = [_rules.get(rule_id) for rule_id in ids]
    if len(rules) != 1 or rules[0] is None or rules[0].record != "hook":
        return False
    with guard("matching a capture rule"):
        return _HookRule(rules[0])
    return False


def _select(callee: Callable, receiver: Any, rule_ids: tuple[str, ...]) -> "Rule | None":
    for rule_id in rule_ids:
        rule = _rules.get(rule_id)
        if rule is None:
            continue
        if rule.method is None or receiver_matches(receiver, rule.receivers):
            return rule
    return None


def receiver_matches(receiver: Any, type_names: Iterable[str]) -> bool:
    """isinstance against qualified class names, resolved only in modules already imported."""
    if receiver is None or inspect.isclass(receiver) or inspect.ismodule(receiver):
        return False
    for type_name in type_names:
        cls = resolve_imported(type_name)
        if cls is not None and isinstance(receiver, cls):
            return True
    return False


def resolve_imported(qualified_name: str) -> Any:
    """The object a dotted name refers to, if its top module is already imported (never imports)."""
    parts = qualified_name.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        obj = module
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        return obj
    return None


def _call(
    rule: "Rule", callee: Callable, receiver: Any, line: int | None, name: str | None, /, *args: Any, **kwargs: Any
) -> Any:  # positional-only: a user's name=... / line=... keyword goes to the callee
    # A subclass's fit calling super().fit(...) is one Training, not two nested ones.
    caller = sys._getframe(1)  # the script's frame: what it named the data it passes
    if receiver is None or rule.record != "activity":
        return _capture(rule, callee, receiver, line, name, args, kwargs, caller)
    key, running = (rule.id, id(receiver)), _running_calls()
    if key in running:
        return callee(*args, **kwargs)
    running.add(key)
    try:
        return _capture(rule, callee, receiver, line, name, args, kwargs, caller)
    finally:
        running.discard(key)


def _running_calls() -> set:
    """The (rule, receiver) activity calls in progress on this thread."""
    calls = getattr(_local, "running", None)
    if calls is None:
        calls = _local.running = set()
    return calls


def _capture(
    rule: "Rule", callee: Callable, receiver: Any, line: int | None, name: str | None, args: tuple, kwargs: dict,
    caller: Any = None,
) -> Any:
    ctx = None
    activity = None
    with guard(f"capturing {rule.id}"):
        ctx = CallContext(rule, callee, receiver, args, dict(kwargs), line, _filename, current_run(), name,
                          caller=caller)
        # A user function's defaults are values it used; a library's defaults are in its config.
        arguments = bound_arguments(callee, args, kwargs, defaults=bool(rule.functions))
        ctx.captured = {k: v for k, v in arguments.items() if rule.captures(k)}
        get_adapter(rule.adapter).before_call(ctx)
        if rule.record == "activity":
            activity = _new_activity(ctx)
    if activity is not None:  # started: whatever fails while preparing it, it is ended below
        with guard(f"capturing {rule.id}"):
            _prepare_activity(ctx, activity)
    try:
        return _run_and_record(rule, callee, ctx, activity, args, kwargs)
    finally:
        if ctx is not None:
            ctx.caller = None  # a frame keeps every variable of the script alive (a kept exception too)


def _run_and_record(rule: "Rule", callee: Callable, ctx: CallContext | None, activity: Activity | None,
                    args: tuple, kwargs: dict) -> Any:
    """Call the original exactly once and record what came of it; its result and exceptions pass through."""
    call_args, call_kwargs = (ctx.args, ctx.kwargs) if ctx is not None else (args, kwargs)
    try:
        result = callee(*call_args, **call_kwargs)
    except BaseException as error:
        if activity is not None:
            with guard(f"capturing {rule.id}"):
                activity.end(error)
        raise
    if ctx is not None:
        with guard(f"capturing {rule.id}"):
            _after(ctx, activity, result)
    if activity is not None:  # already ended unless recording its results failed early
        with guard(f"capturing {rule.id}"):
            activity.end()
    return result


def _new_activity(ctx: CallContext) -> Activity:
    """The call's activity, started (its values and the adapter's additions come in _prepare_activity)."""
    rule = ctx.rule
    label = rule.label or getattr(ctx.callee, "__name__", None) or rule.activity
    activity = Activity(ctx.run, rule.activity or "Transformation", label=label)
    return activity.start(sourceLine=ctx.line)


def _prepare_activity(ctx: CallContext, activity: Activity) -> None:
    adapter = get_adapter(ctx.rule.adapter)
    if activity.kind == "Transformation":
        for name, value in ctx.captured.items():
            activity.attribute(name, adapter.describe(value), "input")
    else:
        for name, value in ctx.captured.items():
            activity.hyperparameter(name, adapter.describe(value))
    adapter.before_activity(ctx, activity)


def _after(ctx: CallContext, activity: Activity | None, result: Any) -> None:
    rule = ctx.rule
    adapter = get_adapter(rule.adapter)
    if rule.record == "component":
        node = record_component(ctx, result)
        adapter.on_component(ctx, result, node)
    elif rule.record == "activity" and activity is not None:
        try:
            adapter.after_activity(ctx, activity, result)
            if rule.option("result_metric"):
                _result_metric(ctx, activity, result)
            elif activity.kind == "Transformation" and result is not None:
                activity.attribute("output", summarize(result), "output")
        finally:
            activity.end()
    elif rule.record == "configuration":
        adapter.on_configuration(ctx, result)
    elif rule.record == "model":
        node = ctx.run.new_iri("model")
        ctx.run.emit(node, [(RDF.type, ENTITY), (RDF.type, IRI(PI.Model)), (PI.sourceLine, ctx.line)])
        adapter.on_model(ctx, result, node)


def _result_metric(ctx: CallContext, activity: Activity, result: Any) -> None:
    """options.result_metric: the return value is a pi:Metric of that name (per epoch with options.epoch_argument)."""
    epoch = None
    epoch_argument = ctx.rule.option("epoch_argument")
    if epoch_argument:
        epoch = bound_arguments(ctx.callee, ctx.args, ctx.kwargs).get(epoch_argument)
    activity.metric(str(ctx.rule.option("result_metric")), summarize(result),
                    epoch=None if epoch is None else int(epoch))


def record_component(ctx: CallContext, obj: Any) -> str:
    """A pi:<entity> node for a constructed object, with the captured arguments as pi:Attribute."""
    kind = ctx.rule.entity or "Component"
    adapter = get_adapter(ctx.rule.adapter)  # the framework knows its objects best
    describe = adapter.describe
    # A helper may return something other than the component (keras.layers.add gives a tensor).
    component = adapter.component(obj)
    node = ctx.run.new_iri(kind.lower())
    label = getattr(component, "name", None)
    pairs = [
        (RDF.type, ENTITY),
        (RDF.type, IRI(PI[kind]) if kind in ("Layer", "Dataset") else None),
        (RDF.type, IRI(MLS.Dataset) if kind == "Dataset" else None),
        (PI.layerClass if kind == "Layer" else PI.name, adapter.component_class(ctx, component, obj)),
        (RDFS.label, label if isinstance(label, str) else None),
        (PI.sourceLine, ctx.line),
    ]
    ctx.run.emit(node, pairs)
    for name, value in ctx.captured.items():
        records.attribute(ctx.run, node, name, describe(value))
    records.remember(obj, node)
    if component is not obj:
        records.remember(component, node)
    return node

