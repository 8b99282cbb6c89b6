"""The questions bench/scale.py asks of a sweep, as provinstr and as MLflow answer them.

Each question exists three ways: the `provinstr` command a user types (PROVINSTR_COMMANDS, run as a new
process), the same through provinstr's Python API (`provinstr_questions(store)`), and what an MLflow
user calls for it (`mlflow_questions(uri)`, in-process, or in a new process with `mlflow_script`).
Every answer is reduced to something both systems must agree on (a count, names in order), so a
benchmark run also checks that they answered the same question.

  listing   every run with its hyperparameters and final metrics
            provinstr runs | store.runs() | mlflow.search_runs(experiment_names=[...])
  where     the 20 runs with the lowest final val_loss among those with learning_rate < 0.01 and K = 24
            provinstr runs --where ... --sort val_loss --limit 20 | store.runs(where=, sort=, limit=) |
            mlflow.search_runs(filter_string="params.K = '24'", order_by=["metrics.val_loss ASC"]), then
            learning_rate < 0.01 in pandas: MLflow compares params only as strings, with no OR and no IN
  group     the runs of one sweep: provinstr runs --group G | store.runs(group=G) | tags.group = 'G'
  query a   the seed's query (a): the loss at the last epoch of every run with K = 24 and L = 4
            provinstr query QUERY_A | store.query(QUERY_A) | search_runs on the params, then
            get_metric_history(run, "loss") of each matching run
  query b   the seed's query (b): loss of epochs 0-3 of every run, by epoch
            provinstr query QUERY_B | store.query(QUERY_B) | get_metric_history of every run's loss
  show      the newest run: hyperparameters, metrics per epoch
            provinstr show last | store.run("last") and what show reads | search_runs (newest),
            get_run, get_metric_history of each of its metrics
"""

from __future__ import annotations

import io

from benchlib.sweep import EXPERIMENT

LAST_EPOCH = 99  # the epochs are 0-99 (bench/scale.py --epochs 100); query (a) asks for the last one's loss
GROUP = "sweep-0000"  # the first sweep: there at every size, GROUP_SIZE runs
WHERE = "learning_rate < 0.01 and K = 24"
SORT = "val_loss"
LIMIT = 20

QUERY_A = """SELECT DISTINCT ?loss WHERE { GRAPH ?run {
  ?k pi:name "K" ; prov:value 24 .   ?l pi:name "L" ; prov:value 4 .
  ?m a pi:Metric ; pi:name "loss" ; pi:epoch %d ; prov:value ?loss . } }""" % LAST_EPOCH
QUERY_B = """SELECT ?epoch ?loss WHERE { GRAPH ?run { ?m a pi:Metric ; pi:name "loss" ;
  pi:epoch ?epoch ; prov:value ?loss . FILTER(?epoch < 4) } } ORDER BY ?epoch"""

QUESTIONS = ("listing", "where", "group", "query a", "query b", "show")

PROVINSTR_COMMANDS = {
    "listing": ["runs"],
    "where": ["runs", "--where", WHERE, "--sort", SORT, "--limit", str(LIMIT)],
    "group": ["runs", "--group", GROUP],
    "query a": ["query", QUERY_A],
    "query b": ["query", QUERY_B],
    "show": ["show", "last"],
}
# What the remote store is asked (through the server): the listing and the seed's queries.
SERVER_QUESTIONS = ("listing", "query a", "query b")


def provinstr_questions(store) -> dict:
    """{question: (call, digest)}: a call answering it on an open provinstr Store, and what of its answer to compare."""

    def show():
        from rich.console import Console

        from provinstr.analysis.summary import show as summary

        run = store.run("last")
        screen = io.StringIO()
        Console(file=screen, width=200).print(summary(run), highlight=False, markup=False)
        return run.name, screen.getvalue()

    names = lambda runs: [run.name for run in runs]
    return {
        "listing": (store.runs, len),
        "where": (lambda: store.runs(where=WHERE, sort=SORT, limit=LIMIT), names),
        "group": (lambda: store.runs(group=GROUP), len),
        "query a": (lambda: store.query(QUERY_A), len),
        "query b": (lambda: store.query(QUERY_B), len),
        "show": (show, lambda answer: answer[0]),
    }


def mlflow_questions(uri: str) -> dict:
    """{question: (call, digest)}: a call answering it with MLflow's API on the tracking store at `uri`."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiments = [EXPERIMENT]

    def where():
        frame = mlflow.search_runs(experiment_names=experiments, filter_string="params.K = '24'",
                                   order_by=[f"metrics.{SORT} ASC"])
        return frame[frame["params.learning_rate"].astype(float) < 0.01].head(LIMIT)

    def query_a():
        runs = mlflow.search_runs(experiment_names=experiments, filter_string="params.K = '24' and params.L = '4'",
                                  output_format="list")
        losses = set()
        for run in runs:
            losses.update(m.value for m in client.get_metric_history(run.info.run_id, "loss") if m.step == LAST_EPOCH)
        return sorted(losses)

    def query_b():
        rows = []
        for run in mlflow.search_runs(experiment_names=experiments, output_format="list"):
            rows += [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss") if m.step < 4]
        rows.sort(key=lambda row: row[0])
        return rows

    def show():
        newest = mlflow.search_runs(experiment_names=experiments, order_by=["attributes.start_time DESC"],
                                    max_results=1, output_format="list")[0]
        run = client.get_run(newest.info.run_id)
        table: dict[int, dict[str, float]] = {}
        for name in run.data.metrics:
            for m in client.get_metric_history(run.info.run_id, name):
                table.setdefault(m.step, {})[name] = m.value
        lines = [f"{run.info.run_name} {run.info.status}", *(f"{k} {v}" for k, v in run.data.params.items()),
                 *(f"{step} {table[step]}" for step in sorted(table))]
        return run.info.run_name, "\n".join(lines)

    return {
        "listing": (lambda: mlflow.search_runs(experiment_names=experiments), len),
        "where": (where, lambda frame: list(frame["tags.mlflow.runName"])),
        "group": (lambda: mlflow.search_runs(experiment_names=experiments, filter_string=f"tags.group = '{GROUP}'"),
                  len),
        "query a": (query_a, len),
        "query b": (query_b, len),
        "show": (show, lambda answer: answer[0]),
    }


def mlflow_script(question: str, uri: str) -> str:
    """A user's script asking MLflow one question (python -c SCRIPT): imports mlflow, asks, prints the answer."""
    return ("import sys; sys.path.insert(0, %r)\n"
            "from benchlib.questions import mlflow_questions\n"
            "call, _ = mlflow_questions(%r)[%r]\n"
            "answer = call()\n"
            "print(answer[1] if isinstance(answer, tuple) else answer)\n") % (str(_bench()), uri, question)


def _bench():
    from benchlib import BENCH

    return BENCH
