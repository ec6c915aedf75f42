import json
import os
import subprocess
import sys

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from forecast.tracking.runs import PROGRESS_BAR_VARIABLE
from pipelines.inspect import main
from pipelines.train import main as train
from tests.helpers import TINY_PIPELINE


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store holding a tiny registered stockcast-AAPL (lookback 10, two layers)."""
    store = tmp_path_factory.mktemp("inspect")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    assert train(["AAPL", *TINY_PIPELINE, "--hidden-sizes", "8,4", "--tracking-uri", uri]) == 0
    yield store, uri
    while mlflow.active_run():
        mlflow.end_run()


def inspect(uri, *args):
    return main(["AAPL", "--source", "sample", "--tracking-uri", uri, *args])


def test_logs_states_gates_and_saliency_to_a_run_linked_to_the_version(store, capsys):
    _, uri = store
    assert inspect(uri, "--windows", "8") == 0
    printed = capsys.readouterr().out
    assert printed.startswith("stockcast-AAPL v1: 8 windows to 2013-03-01; the forecast looks")
    assert 'Model: "StackedLSTM" (head=direct, horizon=1)' in printed  # its parameter table
    assert "Total params: " in printed
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("stockcast")
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string="tags.model_version = '1' and tags.windows = '8'"
    )
    assert run.info.run_name == "inspect stockcast-AAPL v1" and run.info.status == "FINISHED"
    assert run.info.run_id in printed
    assert run.data.tags["inspects"] == "stockcast-AAPL/1"
    version = client.get_model_version("stockcast-AAPL", "1")
    assert run.data.tags["model_run_id"] == version.run_id  # the final fit that logged it
    files = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert files == {"plots/lstm_states.png", "plots/gate_saturation.png", "plots/saliency.png"}
    summary = json.loads(
        open(client.download_artifacts(run.info.run_id, "inspection/summary.json")).read()
    )
    assert summary["windows"] == 8 and summary["timesteps"] == 10
    assert set(summary["gate_saturation"]) == {"layer_1", "layer_2"}
    assert len(summary["saliency_by_lag"]) == 10
    metrics = run.data.metrics
    assert 1 <= metrics["saliency/lags_for_90pct"] <= 10
    assert 0 <= metrics["gates/layer_2/forget/high"] <= 1
    by_lag = client.get_metric_history(run.info.run_id, "saliency/by_lag")
    assert sorted(m.step for m in by_lag) == list(range(1, 11))


def test_a_version_and_a_date_choose_the_model_and_the_windows(store, capsys):
    _, uri = store
    assert inspect(uri, "--version", "1", "--date", "2012-06-30", "--windows", "3") == 0
    # a Saturday: the windows end on the last trading day before it
    assert "3 windows to 2012-06-29" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--version", "9"], "error: no model stockcast-AAPL version 9 is registered; train one"),
        (["--alias", "nope"], "error: no model stockcast-AAPL alias 'nope' is registered"),
        (["--date", "2011-01-05"], "error: 3 days of prices up to 2011-01-05; the model reads 10"),
        (["--date", "2030-01-02"], "error: --date 2030-01-02 is after the last AAPL price"),
        (["--date", "1990-01-02"], "error: no AAPL prices on or before --date 1990-01-02"),
    ],
    ids=["version", "alias", "short-history", "future", "before-data"],
)
def test_no_model_or_too_little_history_is_one_line_and_exit_1(store, capsys, args, message):
    _, uri = store
    assert inspect(uri, "--start", "2011-01-01", *args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err


def test_a_csv_file_is_a_price_source_as_in_every_cli(store, capsys, tmp_path):
    from forecast.data import load_prices

    _, uri = store
    path = tmp_path / "aapl.csv"
    load_prices("AAPL", "2012-01-01", None, "sample").rename_axis("date").to_csv(path)
    assert main(["AAPL", "--csv", str(path), "--windows", "4", "--tracking-uri", uri]) == 0
    assert "4 windows to 2013-03-01" in capsys.readouterr().out


def test_piped_output_stays_line_oriented(store):
    """MLflow's artifact download bar (carriage returns) never reaches a pipe or a log."""
    store_dir, uri = store
    env = {k: v for k, v in os.environ.items() if k != PROGRESS_BAR_VARIABLE}
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.inspect", "AAPL", "--source", "sample"],
        cwd=store_dir,
        env={**env, "MLFLOW_TRACKING_URI": uri},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stockcast-AAPL v1" in result.stdout
    assert "\r" not in result.stdout + result.stderr
    assert "Downloading artifacts" not in result.stderr


def test_an_unknown_ticker_has_no_model(store, capsys):
    _, uri = store
    assert main(["ZZZZ", "--source", "sample", "--tracking-uri", uri]) == 1
    assert capsys.readouterr().err.startswith("error: no model stockcast-ZZZZ alias 'champion'")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["A$PL"], "ticker"),
        (["AAPL", "--windows", "0"], "argument --windows: must be a whole number >= 1; got '0'"),
        (["AAPL", "--date", "yesterday"], "--date='yesterday' is not a date; use YYYY-MM-DD"),
        (["AAPL", "--version", "1", "--alias", "champion"], "not allowed with argument"),
        (["AAPL", "--csv", "x.csv", "--source", "yahoo"], "--csv is for --source csv; got"),
    ],
    ids=["ticker", "windows", "date", "version-and-alias", "csv-and-source"],
)
def test_bad_options_get_one_line_and_exit_code_2(capsys, args, message):
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2
    first, hint = capsys.readouterr().err.strip().split("\n")
    assert message in first and hint.startswith("(see `python -m pipelines.inspect --help`")
