"""The Python API for code that records on purpose: decorators, context managers, log_* calls."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterable, Sequence, TypeVar

from provinstr.capture.activity import Activity
from provinstr.capture.run import active_runs, current_run
from provinstr.capture.safety import guard
from provinstr.capture.values import summarize

F = TypeVar("F", bound=Callable)


def track_transformation(
    name: str | None = None,
    inputs: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
) -> Callable[[F], F]:
    """Record each call of the decorated function as a pi:Transformation activity.

    `inputs` names the arguments captured as input attributes (default: every argument);
    `outputs` names the parts of the return value (a tuple is matched element by element).
    The function is called exactly once and its result or exception is passed through untouched.
    """

    def decorate(function: F) -> F:
        label = name or function.__name__
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            signature = None

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            activity = None
            with guard(f"recording transformation {label!r}"):
                activity = Activity(current_run(), "Transformation", label=label).start()
                for arg, value in bound_arguments(signature, args, kwargs, inputs):
                    activity.attribute(arg, summarize(value), "input")
            try:
                result = function(*args, **kwargs)
            except BaseException as error:
                if activity is not None:
                    with guard(f"recording transformation {label!r}"):
                        activity.end(error)
                raise
            if activity is not None:
                with guard(f"recording transformation {label!r}"):
                    for out, value in named_outputs(result, outputs):
                        activity.attribute(out, summarize(value), "output")
                    activity.end()
            return result

        return wrapper  # type: ignore[return-value]

    if callable(name):  # used bare: @track_transformation
        function, name = name, None
        return decorate(function)  # type: ignore[return-value]
    return decorate


def bound_arguments(
    signature: inspect.Signature | None, args: tuple, kwargs: dict, wanted: Iterable[str] | None
) -> list[tuple[str, Any]]:
    """(name, value) of the call's arguments, by parameter name, filtered to `wanted`."""
    if signature is None:
        pairs = [(f"arg{i}", v) for i, v in enumerate(args)] + list(kwargs.items())
    else:
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError:
            pairs = [(f"arg{i}", v) for i, v in enumerate(args)] + list(kwargs.items())
        else:
            bound.apply_defaults()  # a default the call relied on (K=24) is a value it used
            pairs = []
            for key, value in bound.arguments.items():
                kind = signature.parameters[key].kind
                if kind is inspect.Parameter.VAR_KEYWORD:
                    pairs.extend(value.items())
                elif kind is inspect.Parameter.VAR_POSITIONAL:
                    pairs.extend((f"{key}{i}", v) for i, v in enumerate(value))
                else:
                    pairs.append((key, value))
    if wanted is not None:
        keep = set(wanted)
        pairs = [(k, v) for k, v in pairs if k in keep]
    return [(k, v) for k, v in pairs if k not in ("self", "cls")]


def named_outputs(result: Any, names: Sequence[str] | None) -> list[tuple[str, Any]]:
    """Name the parts of a return value: a tuple against `names`, else the whole as names[0]."""
    if names and isinstance(result, tuple) and len(names) == len(result):
        return list(zip(names, result))
    return [((names[0] if names else "output"), result)]


class transformation:
    """`with provinstr.transformation("Encoder", padding="same", strides=2) as t: ... t.output(x=...)`."""

    def __init__(self, name: str, **inputs: Any) -> None:
        self.name = name
        self.inputs = inputs
        self.activity: Activity | None = None

    def __enter__(self) -> "transformation":
        with guard(f"recording transformation {self.name!r}"):
            self.activity = Activity(current_run(), "Transformation", label=self.name).start()
            for key, value in self.inputs.items():
                self.activity.attribute(key, summarize(value), "input")
        return self

    def output(self, **values: Any) -> None:
        """Record values this transformation produced."""
        if self.activity is None:
            return
        with guard(f"recording transformation {self.name!r}"):
            for key, value in values.items():
                self.activity.attribute(key, summarize(value), "output")

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.activity is not None:
            with guard(f"recording transformation {self.name!r}"):
                self.activity.end(exc)


def log_hyperparameter(name: str | None = None, value: Any = None, **values: Any) -> None:
    """Record hyperparameters used by the innermost open activity (or the run):
    `log_hyperparameter("lr", 0.01)` or `log_hyperparameter(lr=0.01, momentum=0.9)`."""
    if name is not None:
        values = {name: value, **values}
    with guard("log_hyperparameter"):
        owner = current_run().innermost()
        for key, item in values.items():
            owner.hyperparameter(key, summarize(item))


def log_metric(name: str, value: Any, epoch: int | None = None) -> None:
    """Record a metric generated by the innermost open activity (or the run), per epoch if given."""
    with guard("log_metric"):
        current_run().innermost().metric(name, summarize(value), epoch=epoch)


def flush() -> None:
    """Block until everything recorded so far in this process is in the store."""
    with guard("flush"):
        for run in active_runs():
            run.flush(wait=True)
