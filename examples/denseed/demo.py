"""`make demo`: train the DenseED example under `provinstr run`, ask the seed's queries, show, graph and plot it.

Every step is a real `provinstr` command run as a child process, printed before it runs, so
what you see here is what you would type. The store is out/demo/store, made fresh each time;
the pictures are written to out/demo/. A command this checkout does not have yet is reported
as missing (and the demo exits with status 1) instead of stopping the demo with a traceback.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OUT = REPO / "out" / "demo"
STORE = OUT / "store"
K, L = 24, 4

# The seed paper's query (a), asked at the last epoch this demo trains (the paper asked at epoch 200).
QUERY_A = """SELECT DISTINCT ?loss WHERE {{ GRAPH ?run {{
  ?k pi:name "K" ; prov:value {K} .   ?l pi:name "L" ; prov:value {L} .
  ?m a pi:Metric ; pi:name "loss" ; pi:epoch {epoch} ; prov:value ?loss . }} }}"""
# The seed paper's query (b): the loss of each of the first four epochs.
QUERY_B = """SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
  pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch"""

_print_lock = threading.Lock()


def say(text: str = "") -> None:
    with _print_lock:
        print(text, flush=True)


def heading(text: str) -> None:
    say()
    say(f"== {text} " + "=" * max(0, 74 - len(text)))


def shown(arguments: list[str]) -> str:
    """A command as the user would type it (`provinstr ...`, paths relative to the checkout)."""
    return "$ provinstr " + " ".join(shlex.quote(_relative(a)) for a in arguments)


def _relative(argument: str) -> str:
    try:
        return str(Path(argument).relative_to(REPO)) if os.path.isabs(argument) else argument
    except ValueError:
        return argument


def available_commands() -> set[str]:
    """The commands this checkout's `provinstr` has (empty when the CLI cannot be loaded)."""
    try:
        import typer

        from provinstr.cli import app

        command = typer.main.get_command(app)
        return set(getattr(command, "commands", {}) or {command.name})
    except RuntimeError:  # typer: "Could not get a command" = no command registered at all
        return set()
    except Exception as error:  # noqa: BLE001 - any other failure also means: no usable CLI
        say(f"(could not load the provinstr command line: {type(error).__name__}: {error})")
        return set()


class Demo:
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.commands = available_commands()
        self.missing: list[str] = []
        self.failed: list[str] = []
        self.env = {**os.environ, "PROVINSTR_STORE": str(STORE), "TF_CPP_MIN_LOG_LEVEL": "2"}

    # -- running one command -------------------------------------------------------------
    def has(self, command: str, why: str) -> bool:
        if command in self.commands:
            return True
        say(f"   skipped: this checkout's provinstr has no `{command}` command yet ({why} needs it)")
        self.missing.append(command)
        return False

    def provinstr(self, *arguments: str) -> subprocess.CompletedProcess | None:
        """Run `provinstr ARGUMENTS` in the demo store and print what it printed; None if it is missing."""
        if not self.has(arguments[0], shown(list(arguments))):
            return None
        say(shown(list(arguments)))
        result = subprocess.run(
            [sys.executable, "-m", "provinstr", *arguments],
            cwd=REPO, env=self.env, capture_output=True, text=True,
        )
        with _print_lock:
            sys.stdout.write(_indent(result.stdout))
            sys.stdout.write(_indent(result.stderr))
            sys.stdout.flush()
        if result.returncode != 0:
            say(f"   (exit status {result.returncode})")
            self.failed.append(arguments[0])
        return result

    # -- the steps -----------------------------------------------------------------------
    def train(self) -> bool:
        """`provinstr run` the example; ask query (b) from outside while it is still training."""
        heading(f"1. Train DenseED (K={K}, L={L}, {self.epochs} epochs) under provinstr run")
        arguments = [
            "run", "--name", f"denseed-K{K}-L{L}", "--rules", str(HERE / "rules.toml"), str(HERE / "train.py"),
            "--K", str(K), "--L", str(L), "--epochs", str(self.epochs), "--out", str(OUT / "model"),
        ]
        if not self.has("run", "training under capture"):
            return False
        say("train.py is a plain Keras script: no provinstr import, no change; rules.toml names its")
        say("encoder / dense_block / decoder functions so their padding, strides, K and L are recorded too.")
        say(shown(arguments))
        process = subprocess.Popen(
            [sys.executable, "-m", "provinstr", *arguments],
            cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        pump = threading.Thread(target=_echo, args=(process.stdout,), daemon=True)
        pump.start()
        self.ask_while_training(process)
        status = process.wait()
        pump.join()
        if status != 0:
            say(f"   training failed (exit status {status}); the store keeps what was recorded: {STORE}")
            self.failed.append("run")
            return False
        return True

    def ask_while_training(self, process: subprocess.Popen) -> None:
        """Once four epochs are in the store and training goes on, run query (b) from another process."""
        if "query" not in self.commands:
            return
        while process.poll() is None:
            if _epochs_recorded() >= 4 and process.poll() is None:
                result = subprocess.run(
                    [sys.executable, "-m", "provinstr", "query", QUERY_B],
                    cwd=REPO, env=self.env, capture_output=True, text=True,
                )
                with _print_lock:
                    print("\n   -- meanwhile, from another process, while training is still running: query (b)")
                    sys.stdout.write(_indent(result.stdout + result.stderr, "   | "))
                    print("   -- (training goes on)\n", flush=True)
                return
            time.sleep(1.0)

    def queries(self) -> None:
        last = self.epochs - 1
        heading(f"2. Seed query (a): the loss at the last epoch ({last}) of the run with K={K} and L={L}")
        self.provinstr("query", QUERY_A.format(K=K, L=L, epoch=last))
        heading("3. Seed query (b): the loss of each of the first four epochs")
        self.provinstr("query", QUERY_B)

    def show(self) -> None:
        heading("4. The run's summary")
        self.provinstr("show", "last")

    def pictures(self) -> list[Path]:
        heading("5. Pictures: the provenance graph and the learning curves")
        if shutil.which("dot"):
            graph = OUT / "graph.svg"
        else:
            graph = OUT / "graph.dot"
            say("   (graphviz's `dot` is not installed, so the graph is written as DOT text;")
            say("    install graphviz, e.g. `apt-get install graphviz`, for an SVG picture)")
        self.provinstr("graph", "last", "-o", str(graph))
        curves = OUT / "curves.png"
        self.provinstr("plot", "last", "--metric", "loss", "--metric", "val_loss", "-o", str(curves))
        return [path for path in (graph, curves) if path.is_file()]

    def run(self) -> int:
        if OUT.exists():
            shutil.rmtree(OUT)
        OUT.mkdir(parents=True)
        started = time.perf_counter()
        pictures: list[Path] = []
        if self.train():
            self.queries()
            self.show()
            pictures = self.pictures()
        heading(f"Done in {time.perf_counter() - started:.0f} s")
        say(f"store:    {_relative(str(STORE))}   (PROVINSTR_STORE={_relative(str(STORE))} provinstr runs)")
        for picture in pictures:
            say(f"picture:  {_relative(str(picture))}")
        if self.missing:
            say("missing:  this checkout's provinstr lacks " + ", ".join(f"`{c}`" for c in dict.fromkeys(self.missing)))
        if self.failed:
            say("failed:   " + ", ".join(f"`provinstr {c}`" for c in dict.fromkeys(self.failed)))
        return 1 if self.missing or self.failed else 0


def _epochs_recorded() -> int:
    """How many epochs' loss the demo store holds so far (0 while there is no store yet)."""
    try:
        import provinstr

        answer = provinstr.open_store(STORE).query(
            'SELECT (COUNT(?m) AS ?n) WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ; pi:epoch ?e } }'
        )
        return int(answer.rows[0][0]) if answer.rows else 0
    except Exception:  # noqa: BLE001 - no store yet, or the first run log is still being created
        return 0


# TensorFlow's start-up lines (absl/oneDNN notices) say nothing about the training; the demo leaves them out.
_NOISE = ("WARNING: All log messages before absl::InitializeLog()", "I0000 ", "W0000 ")


def _echo(stream) -> None:
    for line in stream:
        if not line.startswith(_NOISE):
            say("   " + line.rstrip("\n"))


def _indent(text: str, prefix: str = "   ") -> str:
    return "".join(prefix + line + "\n" for line in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs to train (default 20)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))  # the checkout's provinstr, also when it is not installed
    return Demo(args.epochs).run()


if __name__ == "__main__":
    sys.exit(main())
