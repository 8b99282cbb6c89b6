"""Applying `provinstr steer` requests inside a running fit, for any framework.

A framework adapter supplies a small object with three methods (the Steerable protocol below):
read a value of the fit, set it, and record a change as a pi:Adaptation (usually through
provinstr.capture.adaptation.record_adaptation with its Training activity). At each epoch
begin it calls `apply_pending(target, run, epoch)`; everything else (which requests are
pending, what is adjustable, refusals, marking the request files) is done here, with
provinstr.capture.steering's protocol. The Keras adapter's target is KerasSteering in
provinstr.adapters.keras.callback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from provinstr.capture import steering
from provinstr.capture.safety import guard

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.capture.run import Run

__all__ = ["Steerable", "adapt", "apply_pending"]


class Steerable(Protocol):
    """What a framework gives steering: its fit's values (optimizer settings) and a way to record a change."""

    def read(self, name: str) -> Any:
        """The value the fit uses now (as the adaptation records it)."""

    def set(self, name: str, value: Any) -> None:
        """Make the fit use `value` from its next step; raise to refuse it (the asker sees the message)."""

    def record(self, name: str, old: Any, new: Any, epoch: int, trigger: str, agent: str | None) -> Any:
        """Record the change as a pi:Adaptation of the fit's Training."""


def adapt(target: Steerable, name: str, value: Any, epoch: int, trigger: str, agent: str | None = None) -> Any:
    """Set `name` to `value` now and record the change (if the value did change); returns the value read back.

    An error setting it is raised (the caller's: a steering request is refused with it); an error
    recording it is a capture error (guarded: training goes on).
    """
    old = target.read(name)
    target.set(name, value)
    new = value
    with guard("recording an adaptation"):
        new = target.read(name)
        if new != old:
            target.record(name, old, new, epoch, trigger, agent)
    return new


def apply_pending(target: Steerable, run: "Run | None", epoch: int) -> list[dict]:
    """Epoch-begin hook: apply the run's pending requests through `target`; returns what became of each."""
    if run is None:
        from provinstr.capture.run import active_run

        run = active_run()
    store_path = getattr(getattr(run, "store", None), "path", None)
    if run is None or store_path is None:
        return []
    outcomes = []
    for path, data in steering.pending(store_path, run.id):
        applied, refused = {}, {}
        for name, value in (data.get("set") or {}).items():
            if name not in steering.ADJUSTABLE:
                refused[name] = f"{name} is not adjustable (adjustable: {', '.join(steering.ADJUSTABLE)})"
                continue
            try:
                adapt(target, name, value, epoch, steering.TRIGGER, agent=data.get("agent"))
            except Exception as error:  # noqa: BLE001 - a refused value is reported to the asker
                refused[name] = f"{type(error).__name__}: {error}"
            else:
                applied[name] = value
        if applied:  # the asker is told "applied" once the adaptation is in the log, so a reader finds it
            with guard("writing an adaptation to the log"):
                run.flush(wait=True)
        outcomes.append(steering.handled(path, data, epoch, applied, refused))
    return outcomes
