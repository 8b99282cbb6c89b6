"""PyTorch and Lightning capture overhead: a plain loop, the cost per optimizer step, start-up, Lightning vs MLflow.

Four parts, each measured side by side in one run: variants interleaved in a rotating order, one uncounted
warm-up each (imports from disk, provinstr's rewrite cache), and plain timed again (`plain-again`) as the
noise floor. The trained scripts import nothing of provinstr; they are written into the work folder from
the templates below and print `BENCH {json}` with their own timings.

  loop       a plain PyTorch loop (an MLP on generated data, DataLoader, SGD, StepLR, a validation pass that
             assigns val_loss / val_acc): `python bench_loop.py` vs `provinstr run bench_loop.py`, one process
             each. The script times each epoch from one iteration's start to the next (the epoch loop's boundary
             work is inside); the steady epoch is the median of epochs 1..n-1, the loop all of them. Medians of
             paired ratios. Target <= 1 %.
  steps      what capture adds per optimizer step on the training thread (target <= 5 us): a tiny model on
             prepared batches (~0.1 ms a step, `running_loss += loss.item()` in it, as tutorials write) run in
             this process by provinstr's runner (rewrite.runner.execute, what `provinstr run` calls), alternating
             with the same code compiled plain (torch's global hooks set aside meanwhile, as a plain `python` has
             none); per run the least disturbed steady epoch over its steps, then paired differences. Then the
             parts, each added alone to the same step (a hook called in a bare loop measures 3-5x less than
             inside a step): the backward hook (capture.calls.wrap of loss.backward), the optimizer-step hook
             (torch's global post-hook), the value hook (capture.epochs.value), and the epoch boundary (the
             epoch loop's next(), which reads the epoch's kept losses once).
  startup    `python bench_startup.py` vs `provinstr run bench_startup.py`, a script that only imports torch:
             the paired difference of process wall (and CPU) times is provinstr's start-up (target <= 0.3 s).
  lightning  one LightningModule fit (checkpointing on, no logger): plain, under `provinstr run`, and a copy
             with `import mlflow; mlflow.pytorch.autolog()` at the top (its defaults: models and checkpoints
             logged; a local file store); fit time (the script's timer around trainer.fit), steady epoch and
             process wall over plain, then what each recorded (provinstr: its store; MLflow: its files).

The machine is shared: load only ever slows a timing, so the difference of 10th percentiles is printed next
to the median of paired differences where a cost is a few microseconds.

    python bench/torch_overhead.py             # all four parts, 7-11 min on a 2-core machine
    python bench/torch_overhead.py --quick     # a smoke run: 1-3 rounds, short loops (~3 min)
    python bench/torch_overhead.py --parts steps startup --rounds 12

Results: bench/results/torch_overhead.json (--out), the records and the parts' timings.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import RESULTS, ROOT
from benchlib.harness import child_env, measured_command, timed_process
from benchlib.machine import commit, finished, load_line, machine
from benchlib.stats import difference_summary, paired_differences, paired_ratios, paired_summary, rotated

PYTHON = sys.executable
PARTS = ("loop", "steps", "startup", "lightning")
VARIANTS = ("plain", "plain-again", "provinstr")
LIGHTNING_VARIANTS = (*VARIANTS, "mlflow")
TORCH_RULES = ROOT / "rules" / "torch.toml"

# A tutorial's training loop. argv: epochs, training samples, hidden width, batch size.
LOOP = '''\
import json
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

epochs, samples, width, batch_size = (int(arg) for arg in sys.argv[1:5])
torch.manual_seed(0)
features = torch.randn(samples + 512, 32)
labels = (features[:, :4].sum(dim=1) > 0).long()
train_loader = DataLoader(TensorDataset(features[:samples], labels[:samples]), batch_size=batch_size, shuffle=True)
val_loader = DataLoader(TensorDataset(features[samples:], labels[samples:]), batch_size=256)
model = nn.Sequential(nn.Linear(32, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

starts, cpu = [], []
for epoch in range(epochs):
    starts.append(time.perf_counter())
    cpu.append(time.thread_time())
    model.train()
    running_loss = 0.0
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    model.eval()
    val_loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in val_loader:
            out = model(x)
            val_loss += loss_fn(out, y).item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
    val_loss /= len(val_loader.dataset)
    val_acc = correct / len(val_loader.dataset)
    scheduler.step()
starts.append(time.perf_counter())
cpu.append(time.thread_time())
print("BENCH " + json.dumps({"epoch_s": [b - a for a, b in zip(starts, starts[1:])],
                             "cpu_epoch_s": [b - a for a, b in zip(cpu, cpu[1:])], "steps": len(train_loader)}))
'''

# The same loop with almost nothing to do per step, so that capture's per-step cost shows. argv: epochs, steps.
STEPS = '''\
import json
import sys
import time

import torch
from torch import nn

epochs, steps = (int(arg) for arg in sys.argv[1:3])
torch.manual_seed(0)
batches = [(torch.randn(16, 8), torch.randint(0, 2, (16,))) for _ in range(32)]
model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

starts, cpu = [], []
for epoch in range(epochs):
    starts.append(time.perf_counter())
    cpu.append(time.thread_time())
    running_loss = 0.0
    for step in range(steps):
        x, y = batches[step % len(batches)]
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    train_loss = running_loss / steps
starts.append(time.perf_counter())
cpu.append(time.thread_time())
print("BENCH " + json.dumps({"epoch_s": [b - a for a, b in zip(starts, starts[1:])],
                             "cpu_epoch_s": [b - a for a, b in zip(cpu, cpu[1:])], "steps": steps}))
'''

TORCH_ONLY = "import torch\n"

# A small LightningModule as tutorials write it. argv: epochs, training samples, hidden width, batch size.
LIGHTNING = '''\
import json
import sys
import time

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

epochs, samples, width, batch_size = (int(arg) for arg in sys.argv[1:5])
torch.manual_seed(0)
features = torch.randn(samples + 512, 32)
labels = (features[:, :4].sum(dim=1) > 0).long()
train_loader = DataLoader(TensorDataset(features[:samples], labels[:samples]), batch_size=batch_size, shuffle=True)
val_loader = DataLoader(TensorDataset(features[samples:], labels[samples:]), batch_size=256)


class MLP(pl.LightningModule):
    def __init__(self, width=128, lr=0.05, gamma=0.5):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(32, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, index):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, index):
        x, y = batch
        out = self(x)
        self.log("val_loss", nn.functional.cross_entropy(out, y))
        self.log("val_acc", (out.argmax(dim=1) == y).float().mean())

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
        return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=self.hparams.gamma)]


class EpochStarts(pl.Callback):
    def __init__(self):
        self.starts = []

    def on_train_epoch_start(self, trainer, module):
        self.starts.append(time.perf_counter())


timer = EpochStarts()
trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_progress_bar=False,
                     enable_model_summary=False, callbacks=[timer])
model = MLP(width=width)
start = time.perf_counter()
trainer.fit(model, train_loader, val_loader)
end = time.perf_counter()
starts = timer.starts + [end]
print("BENCH " + json.dumps({"fit_s": end - start, "epoch_s": [b - a for a, b in zip(starts, starts[1:])]}))
'''
MLFLOW_HEAD = "import mlflow\nmlflow.pytorch.autolog()\n"


class Settings:
    """Rounds and sizes of each part (--quick: fewer and shorter)."""

    def __init__(self, quick: bool, rounds: int | None) -> None:
        self.rounds = {"loop": 2, "steps": 3, "startup": 2, "lightning": 1} if quick else \
            {"loop": 8, "steps": 30, "startup": 10, "lightning": 5}
        if rounds:
            self.rounds = dict.fromkeys(self.rounds, rounds)
        self.part_tries = 30 if quick else 200
        self.loop_args = ["5" if quick else "10", "12800", "256", "64"]  # 200 steps an epoch
        self.steps_args = ["6", "250"]  # 6 epochs of 250 steps (~25 ms): many short alternations
        self.lightning_args = ["4" if quick else "8", "6400", "256", "64"]  # 100 steps an epoch

    def as_dict(self) -> dict:
        return {"rounds": self.rounds, "part_tries": self.part_tries, "loop_args": self.loop_args,
                "steps_args": self.steps_args, "lightning_args": self.lightning_args}


# -- processes ------------------------------------------------------------------------------------------
def write_scripts(work: Path) -> dict[str, Path]:
    """The trained scripts, as files in the work folder (named so that none hides a package: not lightning.py)."""
    scripts = {"loop": LOOP, "steps": STEPS, "startup": TORCH_ONLY, "lightning": LIGHTNING,
               "lightning-mlflow": MLFLOW_HEAD + LIGHTNING}
    paths = {}
    for name, text in scripts.items():
        paths[name] = work / f"bench_{name.replace('-', '_')}.py"
        paths[name].write_text(text)
    return paths


def command(part: str, variant: str, scripts: dict[str, Path], args: list[str], work: Path) -> tuple[list, dict, Path]:
    """The command line, environment and working folder (one per part and variant) of one process."""
    env = child_env()
    cwd = work / f"{part}-{variant}"
    cwd.mkdir(exist_ok=True)
    script = scripts[part]
    if variant == "provinstr":
        return [PYTHON, "-m", "provinstr", "run", "--store", str(cwd / ".provinstr"), str(script), *args], env, cwd
    if variant == "mlflow":
        env.update({"MLFLOW_TRACKING_URI": f"file:{cwd / 'mlruns'}", "MLFLOW_ALLOW_FILE_STORE": "true"})
        return [PYTHON, str(scripts[f"{part}-mlflow"]), *args], env, cwd
    return [PYTHON, str(script), *args], env, cwd


def measure_processes(part: str, variants: tuple, rounds: int, args: list[str], scripts: dict, work: Path,
                      records: list[dict]) -> None:
    """One uncounted warm-up per variant, then `rounds` rounds of one process per variant (rotating order)."""
    for variant in variants:
        cmd, env, cwd = command(part, variant, scripts, args, work)
        warm = timed_process(cmd, env, cwd, report=part != "startup")
        print(f"  warm-up {variant:12s} wall {warm['wall_s']:5.2f}s" +
              (f"  ERROR {warm['error'][-600:]}" if "error" in warm else ""), flush=True)
    for rep in range(rounds):
        for variant in rotated(variants, rep):
            cmd, env, cwd = command(part, variant, scripts, args, work)
            record = {"part": part, "config": [part], "rep": rep, "variant": variant,
                      **timed_process(cmd, env, cwd, report=part != "startup")}
            if "epoch_s" in record:
                epochs = record["epoch_s"]
                middle = epochs[1:-1] if part == "lightning" else epochs[1:]  # Lightning's last ends with fit
                record["steady_epoch_s"] = statistics.median(middle or epochs)
                if "cpu_epoch_s" in record:
                    record["steady_cpu_epoch_s"] = statistics.median(record["cpu_epoch_s"][1:])
                record["loop_s"] = sum(epochs)
            records.append(record)
            print("  " + progress(record), flush=True)


def progress(record: dict) -> str:
    """One printed line per timed process."""
    head = f"{record['part']:9s} rep {record['rep']} {record['variant']:12s}"
    if "error" in record:
        return f"{head} FAILED: {record['error'][-600:]}"
    line = f"{head} wall {record['wall_s']:6.3f}s  cpu {record.get('cpu_s', 0):6.2f}s"
    if "fit_s" in record:
        line += f"  fit {record['fit_s']:6.3f}s"
    if "steady_epoch_s" in record:
        line += f"  loop {record['loop_s']:6.3f}s  steady epoch {record['steady_epoch_s'] * 1e3:7.2f} ms"
    return line


# -- the cost per step, in this process -------------------------------------------------------------------
@contextlib.contextmanager
def torch_as_plain():
    """While plain code runs here: no global optimizer or module hooks, as in a plain `python` process."""
    from torch.nn.modules import module
    from torch.optim import optimizer

    kept = [(hooks, dict(hooks)) for hooks in (optimizer._global_optimizer_pre_hooks,
                                               optimizer._global_optimizer_post_hooks,
                                               module._global_forward_pre_hooks)]
    for hooks, _ in kept:
        hooks.clear()
    try:
        yield
    finally:
        for hooks, items in kept:
            hooks.update(items)


def measure_steps(rounds: int, args: list[str], scripts: dict, work: Path, records: list[dict]) -> None:
    """The steps script run by provinstr's runner (as `provinstr run` runs it) and plain, alternating in-process."""
    import torch

    from provinstr.rewrite import runner
    from provinstr.rules.loader import load_rules

    torch.set_num_threads(1)  # as OMP_NUM_THREADS=1 pins the processes
    target = runner.script_target(str(scripts["steps"]))
    rules = load_rules([], project_dir=str(work))
    plain = compile(target.source, target.filename, "exec", dont_inherit=True)
    store = str(work / "steps-provinstr" / ".provinstr")

    def once(variant: str) -> dict:
        out, err = io.StringIO(), io.StringIO()
        gc.collect()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if variant == "provinstr":
                code = runner.execute(target, args, rules, store=store)
            else:
                saved, sys.argv = sys.argv, [target.argv0, *args]
                try:
                    with torch_as_plain():
                        exec(plain, runner.fresh_module(target).__dict__)  # noqa: S102 - the user script, plain
                finally:
                    sys.argv = saved
                code = 0
        lines = [line for line in out.getvalue().splitlines() if line.startswith("BENCH ")]
        if code != 0 or not lines:
            return {"error": (err.getvalue() or out.getvalue())[-2000:]}
        return json.loads(lines[-1][6:])

    for variant in VARIANTS:  # warm-up: imports, the rewrite cache, the store's first run
        once(variant)
    for rep in range(rounds):
        for variant in rotated(VARIANTS, rep):
            record = {"part": "steps", "config": ["steps"], "rep": rep, "variant": variant, **once(variant)}
            if "epoch_s" in record:  # epoch 0 describes the model and optimizer; the least disturbed of the others
                record["step_us"] = min(record["epoch_s"][1:]) / record["steps"] * 1e6
                record["cpu_step_us"] = min(record["cpu_epoch_s"][1:]) / record["steps"] * 1e6
            records.append(record)
            if "error" in record:
                print(f"  steps     rep {rep} {variant:12s} FAILED: {record['error'][-600:]}", flush=True)
            elif rep % 5 == 0 or rep == rounds - 1:
                print(f"  steps     rep {rep} {variant:12s} {record['step_us']:6.1f} us a step, "
                      f"thread CPU {record['cpu_step_us']:6.1f} us", flush=True)


# What the rewritten loop adds to a step, one hook at a time (capture.calls.wrap of loss.backward, torch's
# dispatch to the global optimizer-step hook, capture.epochs.value after `running_loss += ...`), and keeping
# the loss alone (loss.detach() appended: the least the backward hook can do).
PART_MODES = ("plain", "backward hook", "step hook", "value hook", "all three", "detach+append alone")


def hook_parts(work: Path, tries: int, steps: int = 100, boundary_losses: int = 200) -> dict:
    """Each hook's cost per step, in us, inside a real (tiny) training step, and the epoch boundary's in ms.

    A hook called alone in a bare loop measures 3-5x less than inside a step (the step's own work evicts
    what the hook's code and data need from the caches), so each is timed added to the steps script's step.
    The modes alternate in short tries (`steps` steps, thread CPU time); load on a shared machine only ever
    slows a try, so a mode's cost is the difference of its 10th percentile to plain's (the median of the
    paired differences is kept too). The boundary is the epoch loop's next() with `boundary_losses` kept.
    """
    import torch
    from torch import nn

    import provinstr
    from provinstr.adapters.torch.training import SESSION
    from provinstr.capture import calls, epochs
    from provinstr.rules import load_rule_file

    calls.activate(load_rule_file(TORCH_RULES))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    batches = [(torch.randn(16, 8), torch.randint(0, 2, (16,))) for _ in range(32)]
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    loss_fn = nn.CrossEntropyLoss()
    # Built as the rewritten script builds it: the optimizer rule tells the loop which model is trained.
    optimizer = calls.wrap(torch.optim.SGD, ("torch.optimizer",), 13, "torch.optim.SGD")(model.parameters(), lr=0.01)
    wrap, value = calls.wrap, epochs.value
    kept: list = []

    def train(mode: str) -> float:
        backward = mode in ("backward hook", "all three")
        assigned = mode in ("value hook", "all three")
        alone = mode == "detach+append alone"
        running_loss = 0.0
        start = time.thread_time()
        for step in range(steps):
            x, y = batches[step % len(batches)]
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            if backward:
                wrap(loss.backward, ("torch.backward",), 23, "backward")()
            else:
                if alone:
                    kept.append(loss.detach())
                loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if assigned:
                value(("torch.values",), 25, "running_loss", running_loss)
        return (time.thread_time() - start) / steps * 1e6

    times: dict[str, list[float]] = {mode: [] for mode in PART_MODES}
    result: dict = {"tries": tries, "steps_per_try": steps}
    with provinstr.run(name="hook parts", store=str(work / "parts" / ".provinstr")):
        for _ in epochs.loop(range(1), ("torch.epochs",), 20, "epoch"):
            training = SESSION.current
            assert training is not None, "the epoch loop did not start a PyTorch training"
            train("all three")  # the Training starts, the optimizer is described, the model found
            from torch.nn.modules.module import _global_forward_pre_hooks

            assert not _global_forward_pre_hooks, "the loop still listens for the model's first forward"
            for attempt in range(tries):
                for mode in rotated(PART_MODES, attempt):
                    if mode in ("plain", "backward hook", "value hook", "detach+append alone"):
                        with torch_as_plain():  # no optimizer-step hook, as in a plain process
                            times[mode].append(train(mode))
                    else:
                        times[mode].append(train(mode))
                    training.losses.clear()
                    kept.clear()
        base = times["plain"]
        result["plain step (us)"] = low(base)
        for mode in PART_MODES[1:]:
            result[f"{mode} (us/step)"] = low(times[mode]) - low(base)
            result[f"{mode}, median of paired (us/step)"] = statistics.median(
                a - b for a, b in zip(times[mode], base))
        loss = loss_fn(model(batches[0][0]), batches[0][1])
        boundaries = []
        loop = iter(epochs.loop(range(101), ("torch.epochs",), 40, "epoch"))
        next(loop)
        training = SESSION.current
        for _ in range(100):
            training.losses = [loss.detach() for _ in range(boundary_losses)]
            for name, number in (("running_loss", 12.5), ("val_loss", 0.5), ("correct", 410), ("val_acc", 0.8)):
                training.values[name] = number
            start = time.perf_counter()
            next(loop)
            boundaries.append(time.perf_counter() - start)
        for _ in loop:
            pass
        result[f"epoch boundary, {boundary_losses} losses kept (ms/epoch)"] = statistics.median(boundaries) * 1e3
    return result


def low(values: list[float], quantile: float = 0.1) -> float:
    """The `quantile` of values: of repeated timings, the least disturbed by other processes."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * quantile))]


# -- what each recorded ---------------------------------------------------------------------------------
def provinstr_recorded(store_path: Path) -> dict:
    """The last run of a store: its Trainings' hyperparameters, metrics per epoch, layers, models, adaptations."""
    import provinstr

    store = provinstr.open_store(store_path)
    run = store.runs()[-1]

    def rows(sparql: str) -> list[dict]:
        return store.query(sparql, run=run.id).dicts()

    metrics = collections.Counter(row["name"] for row in rows(
        "SELECT ?name ?epoch WHERE { ?t a pi:Training ; prov:generated ?m . "
        "?m a pi:Metric ; pi:name ?name ; pi:epoch ?epoch }"))
    return {
        "run": run.id, "status": run.status,
        "hyperparameters": len(rows("SELECT DISTINCT ?name WHERE { ?t a pi:Training ; prov:used ?h . "
                                    "?h a pi:Hyperparameter ; pi:name ?name }")),
        "metrics per epoch": dict(sorted(metrics.items())),
        "layers": len(rows("SELECT DISTINCT ?l WHERE { ?t a pi:Training ; prov:used ?l . ?l a pi:Layer }")),
        "models": len(rows("SELECT DISTINCT ?m WHERE { ?m a pi:Model }")),
        "adaptations": len(rows("SELECT DISTINCT ?a WHERE { ?a a pi:Adaptation }")),
        "tests": len(rows("SELECT DISTINCT ?a WHERE { ?a a pi:Test }")),
        "datasets": len(rows("SELECT DISTINCT ?d WHERE { ?d a pi:Dataset }")),
    }


def mlflow_recorded(mlruns: Path) -> dict:
    """The newest run of an MLflow file store: its params, metrics (points per name), tags and artifacts."""
    def started(meta: Path) -> int:
        for line in meta.read_text().splitlines():
            if line.startswith("start_time:"):
                return int(line.split(":", 1)[1].strip() or 0)
        return 0

    metas = [meta for meta in mlruns.glob("*/*/meta.yaml") if (meta.parent / "params").is_dir()]
    if not metas:
        return {"error": f"no run in {mlruns}"}
    run = max(metas, key=started).parent
    metrics = {path.name: len(path.read_text().splitlines()) for path in sorted((run / "metrics").iterdir())}
    artifacts = sorted(str(path.relative_to(run / "artifacts")) for path in (run / "artifacts").rglob("*")
                       if path.is_file())
    models = [model for model in (run.parent / "models").glob("*")
              if (run / "outputs" / model.name).exists()] if (run.parent / "models").is_dir() else []
    model_files = sorted(str(path.relative_to(model)) for model in models for path in (model / "artifacts").rglob("*")
                         if path.is_file())
    return {"run": run.name, "params": len(list((run / "params").iterdir())), "metrics points": metrics,
            "tags": len(list((run / "tags").iterdir())), "artifacts": artifacts, "logged models": len(models),
            "model files": model_files}


# -- the report -----------------------------------------------------------------------------------------
def report(records: list[dict], parts: dict, recorded: dict) -> dict:
    """Print each part's medians of paired ratios (or differences) to plain; return them for the result file."""
    summary: dict = {}

    def ratio_line(part: str, metric: str, label: str, variants: tuple) -> None:
        found = [r for r in records if r["part"] == part]
        cells = {}
        for variant in variants[1:]:
            ratios = paired_ratios(found, variant, metric)
            if ratios:
                cells[variant] = paired_summary(ratios)
        summary[f"{part} {metric}"] = cells
        print(f"  {label:34s} " + "   ".join(f"{v} {c}" for v, c in cells.items()))

    def difference_line(part: str, metric: str, label: str, scale: float, unit: str) -> None:
        found = [r for r in records if r["part"] == part]
        cells = {}
        for variant in VARIANTS[1:]:
            differences = paired_differences(found, variant, metric)
            mine = [r[metric] for r in found if r["variant"] == variant and metric in r]
            bases = [r[metric] for r in found if r["variant"] == "plain" and metric in r]
            if differences:
                cells[variant] = (f"{difference_summary(differences, scale, unit)}, 10th percentiles "
                                  f"{(low(mine) - low(bases)) * scale:+.1f} {unit}")
        summary[f"{part} {metric}"] = cells
        print(f"  {label:34s} " + "   ".join(f"{v} {c}" for v, c in cells.items()))

    def plain_median(part: str, metric: str) -> float | None:
        values = [r[metric] for r in records if r["part"] == part and r["variant"] == "plain" and metric in r]
        return statistics.median(values) if values else None

    if any(r["part"] == "loop" for r in records):
        epoch, steps = plain_median("loop", "steady_epoch_s"), plain_median("loop", "steps")
        print(f"\n## loop: plain PyTorch loop, python vs provinstr run (plain steady epoch {epoch * 1e3:.0f} ms, "
              f"{steps:.0f} steps of {epoch / steps * 1e3:.2f} ms; target <= 1 %)" if epoch and steps else "\n## loop")
        ratio_line("loop", "steady_epoch_s", "steady epoch (median of 1..n-1)", VARIANTS)
        ratio_line("loop", "steady_cpu_epoch_s", "steady epoch, thread CPU", VARIANTS)
        ratio_line("loop", "loop_s", "whole loop", VARIANTS)
        ratio_line("loop", "wall_s", "process wall", VARIANTS)
    if any(r["part"] == "steps" for r in records):
        step = plain_median("steps", "step_us")
        print(f"\n## steps: added cost per optimizer step, in-process (plain step {step:.1f} us; target <= 5 us)"
              if step else "\n## steps")
        difference_line("steps", "step_us", "per step, wall", 1, "us")
        difference_line("steps", "cpu_step_us", "per step, thread CPU", 1, "us")
    if parts:
        print(f"  parts, inside the step (10th percentiles over {parts['tries']} tries, us per step; plain step "
              f"{parts['plain step (us)']:.1f} us):")
        for key, number in parts.items():
            if key.endswith("(us/step)") and "median" not in key:
                paired = parts[key.replace(" (us/step)", ", median of paired (us/step)")]
                print(f"    {key.replace(' (us/step)', ''):24s} {number:+5.2f}  (median of paired {paired:+5.2f})")
        key = next(k for k in parts if k.startswith("epoch boundary"))
        print(f"    {key.replace(' (ms/epoch)', '')}: {parts[key]:.2f} ms per epoch")
    if any(r["part"] == "startup" for r in records):
        base = plain_median("startup", "wall_s")
        print(f"\n## startup: a script that only imports torch (plain {base:.2f} s; target <= 0.3 s)" if base else
              "\n## startup")
        difference_line("startup", "wall_s", "process wall over python", 1e3, "ms")
        difference_line("startup", "cpu_s", "process CPU over python", 1e3, "ms")
    if any(r["part"] == "lightning" for r in records):
        fit, epoch = plain_median("lightning", "fit_s"), plain_median("lightning", "steady_epoch_s")
        print(f"\n## lightning: plain vs provinstr run vs mlflow.pytorch.autolog() (plain fit {fit:.2f} s, "
              f"steady epoch {epoch * 1e3:.0f} ms)" if fit and epoch else "\n## lightning")
        ratio_line("lightning", "fit_s", "trainer.fit", LIGHTNING_VARIANTS)
        ratio_line("lightning", "steady_epoch_s", "steady epoch (median of 1..n-2)", LIGHTNING_VARIANTS)
        ratio_line("lightning", "wall_s", "process wall", LIGHTNING_VARIANTS)
    for label, what in recorded.items():
        print(f"\n{label} recorded: {json.dumps(what)}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2-3 rounds (Lightning 1), short loops")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--rounds", type=int, default=None, help="rounds of every part (default 8/30/10/5)")
    parser.add_argument("--out", default=str(RESULTS / "torch_overhead.json"))
    parser.add_argument("--work", default=None, help="keep the scripts, stores and MLflow files here")
    options = parser.parse_args()
    settings = Settings(options.quick, options.rounds)
    work = Path(options.work) if options.work else Path(tempfile.mkdtemp(prefix="provinstr-torch-"))
    work.mkdir(parents=True, exist_ok=True)
    scripts = write_scripts(work)
    info = machine()
    started = time.perf_counter()
    print(f"{load_line()}; provinstr at {info['commit']}; work folder {work}", flush=True)
    records: list[dict] = []
    parts: dict = {}
    recorded: dict = {}
    try:
        if "loop" in options.parts:
            print("\nloop:", flush=True)
            measure_processes("loop", VARIANTS, settings.rounds["loop"], settings.loop_args, scripts, work, records)
            recorded["loop, provinstr"] = provinstr_recorded(work / "loop-provinstr" / ".provinstr")
        if "steps" in options.parts:
            print("\nsteps:", flush=True)
            measure_steps(settings.rounds["steps"], settings.steps_args, scripts, work, records)
            parts = hook_parts(work, settings.part_tries)
        if "startup" in options.parts:
            print("\nstartup:", flush=True)
            measure_processes("startup", VARIANTS, settings.rounds["startup"], [], scripts, work, records)
        if "lightning" in options.parts:
            print(f"\nlightning ({load_line()}):", flush=True)
            measure_processes("lightning", LIGHTNING_VARIANTS, settings.rounds["lightning"], settings.lightning_args,
                              scripts, work, records)
            recorded["lightning, provinstr"] = provinstr_recorded(work / "lightning-provinstr" / ".provinstr")
            recorded["lightning, mlflow"] = mlflow_recorded(work / "lightning-mlflow" / "mlruns")
    finally:
        finished(info, started)
        info["commit_end"] = commit()
        summary = report(records, parts, recorded)
        if info["commit_end"] != info["commit"]:
            print(f"\nWARNING: provinstr changed during the run ({info['commit']} -> {info['commit_end']})")
        out = Path(options.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"machine": info, "command": measured_command(), "settings": settings.as_dict(),
                                   "summary": summary, "parts": parts, "recorded": recorded, "records": records},
                                  indent=1))
        print(f"\nraw records: {out}  ({info['seconds']:.0f} s)")
        if not options.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
