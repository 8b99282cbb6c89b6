"""The PyTorch adapter's hooks: what the torch rules (rules/torch.toml) do when they fire.

Construction rules remember modules, optimizers, schedulers, losses and DataLoaders (their nodes carry
the arguments and source line); the epoch-loop, backward and value rules feed the loop's TorchTraining
(training.py); torch.save / torch.load / load_state_dict link model files to the Trainings and Tests.
No torch import at module level: every rule fires after the script imported torch itself.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from provinstr.adapters.torch import describe
from provinstr.adapters.torch.training import SESSION, LoaderNames
from provinstr.capture import records
from provinstr.capture.arguments import bound_arguments
from provinstr.capture.hooks import Adapter, CallContext
from provinstr.capture.nquads import IRI
from provinstr.capture.run import active_run
from provinstr.capture.safety import guard
from provinstr.vocab import MLS, PI, PROV, RDF

if TYPE_CHECKING:  # pragma: no cover
    from provinstr.rules.model import Rule

class TorchAdapter(Adapter):
    name = "torch"

    def class_name(self, obj: Any) -> str:
        return describe.public_class(obj)

    def describe(self, value: Any) -> Any:
        """A module given to a container (nn.Sequential(nn.Linear(...), ...)) by its class, not its repr."""
        if hasattr(value, "named_modules") and hasattr(value, "parameters"):
            return describe.public_class(value)
        return super().describe(value)

    # -- constructions --------------------------------------------------------------------------
    def on_component(self, ctx: CallContext, obj: Any, node: str) -> None:
        SESSION.install()
        torch = sys.modules["torch"]  # the rule matched a torch call: the script imported torch
        if isinstance(getattr(obj, "optimizer", None), torch.optim.Optimizer) and hasattr(obj, "step"):
            SESSION.schedulers.setdefault(obj.optimizer, []).append(obj)  # an LRScheduler or ReduceLROnPlateau
        elif isinstance(obj, torch.utils.data.DataLoader):
            # its names are read from this frame when it is first iterated (the assignment comes after the call)
            SESSION.names[obj] = LoaderNames(ctx.caller, records.hash_limit(ctx.rule))
        if isinstance(obj, torch.nn.Module) and ctx.rule.entity == "Layer":
            for name, value in describe.module_arguments(obj).items():  # the defaults the script did not write
                if name not in ctx.captured:
                    records.attribute(ctx.run, node, name, value)

    # -- the loop -------------------------------------------------------------------------------
    def epoch_loop(self, rule: "Rule", line: int, name: str, kind: str, planned: int | None = None,
                   frame: Any = None) -> Any:
        if "torch" not in sys.modules:
            return None  # a loop in a script that never imported torch: not a PyTorch training
        run = active_run()
        return None if run is None else SESSION.start_loop(run, line, name, planned, frame)

    def hook(self, rule: "Rule", callee: Callable, receiver: Any) -> Callable:
        """loss.backward(): the loss is kept (detached) for its epoch's mean; the call itself is the user's."""
        training = SESSION.current  # the per-step path: one attribute read when an epoch loop runs
        if training is None or SESSION.suspended:
            training = SESSION.training_for_step()
        if training is not None:
            training.backward(receiver)
        return callee

    def on_value(self, rule: "Rule", name: str, value: Any, line: int) -> None:
        current = SESSION.current  # per batch in some loops (`correct += ...`): the epoch's value, at once
        if current is not None and not SESSION.suspended:
            current.values[name] = value
        else:
            SESSION.note(name, value, line)

    # -- model files ----------------------------------------------------------------------------
    def on_model(self, ctx: CallContext, result: Any, node: str) -> None:
        """torch.save(obj, f): the file, its sha256, what was saved, and the Training (and epoch) that made it."""
        arguments = bound_arguments(ctx.callee, ctx.args, ctx.kwargs)
        obj, where = arguments.get("obj"), arguments.get("f")
        run = ctx.run
        run.emit(node, [(RDF.type, IRI(MLS.Model)),
                        (PI.valueType, "state_dict" if isinstance(obj, dict) else describe.public_class(obj))])
        path = _path_of(where)
        if path is not None:
            records.file_facts(run, node, path)
            SESSION.saved[os.path.abspath(path)] = node
        training = SESSION.current or SESSION.loose or SESSION.last
        if training is not None and training.activity is not None and training.run is run:
            training.activity.generated(node)
            if training is SESSION.current:
                run.emit(node, [(PI.epoch, training.epoch)])
        records.remember(obj, node)

    def on_configuration(self, ctx: CallContext, result: Any) -> None:
        """torch.load of a file this run saved, or load_state_dict of what it returned: the model is used."""
        arguments = bound_arguments(ctx.callee, ctx.args, ctx.kwargs)
        if ctx.receiver is None:  # torch.load(f)
            path = _path_of(arguments.get("f"))
            node = SESSION.saved.get(os.path.abspath(path)) if path is not None else None
            if node is not None:
                records.remember(result, node)
        else:  # module.load_state_dict(state_dict)
            state = arguments.get("state_dict")
            node = records.node_in_run(ctx.run, state) if state is not None else None
        if node is None or not records.in_run(ctx.run, node):
            return
        training = SESSION.current or SESSION.loose
        if training is not None and training.activity is not None:
            training.activity.used(node)
        elif SESSION.test is not None:
            SESSION.test.activity.used(node)
        elif node not in SESSION.loaded:
            SESSION.loaded.append(node)
        run = ctx.run
        run.emit(node, [(RDF.type, IRI(PROV.Entity))])


def _path_of(where: Any) -> "str | os.PathLike | None":
    """The file torch.save / torch.load was given: a path, or an open file's name (flushed, so its bytes are hashed)."""
    if isinstance(where, (str, os.PathLike)):
        return where
    name = getattr(where, "name", None)
    if isinstance(name, str) and os.path.isfile(name):
        flush, mode = getattr(where, "flush", None), str(getattr(where, "mode", ""))
        if callable(flush) and any(letter in mode for letter in "wa+"):
            flush()
        return name
    return None


ADAPTER = TorchAdapter()
__all__ = ["ADAPTER", "TorchAdapter"]
