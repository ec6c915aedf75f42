import os
import re
import signal
import subprocess
import sys

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from forecast import tracking
from forecast.data import load_prices
from forecast.evaluation.conformal import RULE_SOURCES, interval_key
from forecast.evaluation.diagnosis import DIAGNOSES
from forecast.forecaster import Forecaster
from pipelines.train import main
from tests.helpers import PYFUNC_COLUMNS, history_rows, wait_for

TINY = [
    "--source",
    "sample",
    "--start",
    "2011-06-01",
    "--folds",
    "2",
    "--test-size",
    "30",
    "--repeats",
    "2",
    "--epochs",
    "2",
    "--hidden-sizes",
    "8",
    "--lookback",
    "10",
    "--threads",
    "1",
]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty working directory: the embedded MLflow default lands here."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield tmp_path
    while mlflow.active_run():
        mlflow.end_run()


def runs(client):
    experiment = client.get_experiment_by_name("stockcast")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


def test_run_tree_params_metrics_artifacts_and_registered_model(store, capsys):
    assert main(["AAPL", *TINY]) == 0
    assert (store / "mlflow.db").exists() and (store / "mlartifacts").is_dir()
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    by_name = {r.info.run_name: r for r in runs(client)}
    parent = next(r for name, r in by_name.items() if name.startswith("AAPL"))
    assert {"cv/fold-1", "cv/fold-2", "final-fit"} <= set(by_name)
    for name in ("cv/fold-1", "cv/fold-2", "final-fit"):
        assert by_name[name].data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert by_name[name].info.status == "FINISHED"
    assert parent.info.status == "FINISHED"
    tags = parent.data.tags
    assert (
        tags["ticker"] == "AAPL"
        and tags["source"] == "sample"
        and tags["data_start"] == "2011-06-01"
    )
    assert (
        tags["data_end"] == "2013-03-01"
        and len(tags["data_hash"]) == 16
        and tags["device"] == "cpu"
    )
    assert tags["fit_diagnosis"] in DIAGNOSES and "git_commit" in tags
    params = parent.data.params
    assert params["window.lookback"] == "10" and params["lstm.hidden_sizes"] == "(8,)"
    assert (
        params["cv.n_folds"] == "2"
        and params["train.epochs"] == "2"
        and params["window.scaler"] == "window"
    )
    assert (
        "cv/model/skill_mean" in parent.data.metrics and "cv/naive/rmse_std" in parent.data.metrics
    )

    fold = by_name["cv/fold-1"]
    assert [m.step for m in client.get_metric_history(fold.info.run_id, "repeat_1/train_loss")] == [
        1,
        2,
    ]
    assert len(client.get_metric_history(fold.info.run_id, "repeat_0/val_loss")) == 2
    for name in ("model", "naive", "drift", "seasonal_naive", "mean"):
        assert f"{name}/rmse" in fold.data.metrics and f"{name}/mase" in fold.data.metrics
    assert fold.data.metrics["naive/skill"] == 0.0
    assert fold.data.tags["fit_diagnosis"] in DIAGNOSES
    # the numbers behind the label
    assert float(fold.data.tags["fit_diagnosis.naive_val_loss"]) > 0
    assert "fit_diagnosis.gain_vs_naive" in fold.data.tags
    fold_files = {a.path for a in client.list_artifacts(fold.info.run_id, "plots")}
    assert fold_files == {"plots/learning_curves.png", "plots/forecast_vs_actual.png"}
    parent_files = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"config.json", "cv"} <= parent_files
    # the final fit shows what its LSTM carries: saliency over the lookback, gate saturation
    final = by_name["final-fit"]
    final_plots = {a.path for a in client.list_artifacts(final.info.run_id, "plots")}
    assert {"plots/saliency.png", "plots/gate_saturation.png"} <= final_plots
    assert 1 <= final.data.metrics["saliency/lags_for_90pct"] <= 10
    assert 0 <= final.data.metrics["gates/layer_1/forget/high"] <= 1
    assert len(client.get_metric_history(final.info.run_id, "saliency/by_lag")) == 10
    # and its Keras-style parameter table
    summary = open(client.download_artifacts(final.info.run_id, "model_summary.txt", str(store)))
    assert "Total params: 361 (torch) / 329 (Keras)" in summary.read()
    csv = client.download_artifacts(parent.info.run_id, "cv/fold_metrics.csv", str(store))
    table = pd.read_csv(csv)
    assert (
        set(table["forecaster"]) == {"model", "naive", "drift", "seasonal_naive", "mean"}
        and len(table) == 10
    )
    # one fold numbering, from 1: run names, tags, the table (and the console's "fold 1/2")
    assert set(table["fold"]) == {1, 2} and by_name["cv/fold-2"].data.tags["fold"] == "2"
    # every CV forecast by origin and step, with naive's and the served rule's bounds: what
    # benchmarks/peers.py scores other libraries against on the same origins
    forecasts = pd.read_csv(
        client.download_artifacts(parent.info.run_id, tracking.CV_FORECASTS_ARTIFACT, str(store)),
        parse_dates=["origin", "date"],
    )
    assert list(forecasts.columns[:8]) == [
        "fold",
        "origin",
        "step",
        "date",
        "last_observed",
        "actual",
        "model",
        "naive",
    ]
    assert set(forecasts.columns[8:]) == {"lower_80", "upper_80", "lower_95", "upper_95"}
    assert (forecasts["naive"] == forecasts["last_observed"]).all()  # horizon 1 here
    assert (forecasts["date"] == forecasts["origin"]).all()
    prices = load_prices("AAPL", "2011-06-01", "2013-03-01", "sample")
    assert (
        forecasts.set_index("date")["actual"] == prices["adj_close"].loc[forecasts["date"]]
    ).all()
    for number, rows in forecasts.groupby("fold"):
        metrics = by_name[f"cv/fold-{number}"].data.metrics
        rmse = ((rows["model"] - rows["actual"]) ** 2).mean() ** 0.5
        assert rmse == pytest.approx(metrics["model/rmse"], rel=1e-4)
        inside = (rows["lower_80"] <= rows["actual"]) & (rows["actual"] <= rows["upper_80"])
        if number == 1:  # no earlier fold calibrates the first
            assert rows[["lower_80", "upper_95"]].isna().all().all()
        else:  # the served rule's bounds, as the fold's metrics scored them
            rule = parent.data.tags[tracking.INTERVAL_RULE_TAG]
            key = interval_key(RULE_SOURCES[rule], 0.8, "coverage")
            assert inside.mean() == pytest.approx(metrics[key], abs=1e-9)
    # the parent's name is unique: to the second, and the run id's head
    assert re.fullmatch(
        rf"AAPL \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {parent.info.run_id[:8]}", parent.info.run_name
    )

    version = client.get_model_version_by_alias("stockcast-AAPL", "champion")
    assert str(version.version) == "1"
    assert float(version.tags["cv.skill_mean"]) == pytest.approx(
        parent.data.metrics["cv/model/skill_mean"], abs=1e-6
    )
    assert (
        version.tags["trained_until"] == "2013-03-01"
        and version.tags["run_id"] == parent.info.run_id
    )
    beats = float(version.tags["cv.skill_mean"]) > float(version.tags["cv.skill_stderr"])
    assert version.tags["cv.beats_naive"] == str(beats).lower()

    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/stockcast-AAPL@champion")
    recent = pd.read_csv(csv).head(0)  # noqa: F841 - the table is checked above

    prices = load_prices("AAPL", source="sample").iloc[-40:]
    out = model.predict(
        pd.DataFrame({"date": prices.index.strftime("%Y-%m-%d"), "close": prices["adj_close"]})
    )
    assert out["date"].tolist() == ["2013-03-04"]
    # the intervals: calibrated on both folds' 60 CV forecasts, saved with the weights
    assert list(out.columns) == PYFUNC_COLUMNS
    assert (out["lower_95"] < out["lower_80"]).all() and (out["upper_80"] < out["upper_95"]).all()
    # the pyfunc's default quantiles, from the same calibration
    assert (out["quantile_0.05"] < out["quantile_0.5"]).all()
    assert (out["quantile_0.5"] < out["quantile_0.95"]).all()
    assert (out["lower_95"] <= out["quantile_0.05"]).all()
    assert (out["quantile_0.05"] <= out["lower_80"]).all()
    served = tracking.load_registered("stockcast-AAPL", "champion").forecaster
    assert served.calibration_.n == 60 and served.interval_levels == (0.8, 0.95)
    assert (
        0.7 * prices["adj_close"].iloc[-1]
        < out["forecast"].iloc[0]
        < 1.3 * prices["adj_close"].iloc[-1]
    )

    printed = capsys.readouterr().out
    assert "naive" in printed and "skill" in printed and "promoted (first champion)" in printed
    assert "mlflow ui" in printed


def set_champion_skill(store, value):
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("stockcast-AAPL", "champion")
    client.set_model_version_tag("stockcast-AAPL", champion.version, "cv.skill_mean", value)
    return client


def test_alias_moves_only_when_cv_skill_beats_the_champion(store, capsys):
    fast = [*TINY, "--folds", "1", "--repeats", "1"]
    assert main(["AAPL", *fast]) == 0
    client = set_champion_skill(store, "1.0")  # a perfect score cannot be beaten
    assert main(["AAPL", *fast]) == 0
    assert str(client.get_model_version_by_alias("stockcast-AAPL", "champion").version) == "1"
    assert "kept champion v1: CV skill" in capsys.readouterr().out
    set_champion_skill(store, "-1000")
    assert main(["AAPL", *fast]) == 0
    assert str(client.get_model_version_by_alias("stockcast-AAPL", "champion").version) == "3"
    assert "promoted: CV skill" in capsys.readouterr().out
    # other folds do not compare: kept, unless --promote
    assert main(["AAPL", *fast, "--test-size", "25"]) == 0
    assert str(client.get_model_version_by_alias("stockcast-AAPL", "champion").version) == "3"
    assert "other data or folds" in capsys.readouterr().out
    assert main(["AAPL", *fast, "--test-size", "25", "--promote"]) == 0
    assert str(client.get_model_version_by_alias("stockcast-AAPL", "champion").version) == "5"


def test_forecaster_fit_on_all_rows_is_the_pipelines_final_fit(store):
    """The final-fit task is Forecaster.fit: the same weights, scaling and calibration from the
    same prices, configuration, seed and CV scores."""
    from dataclasses import replace

    import torch

    from forecast.evaluation.conformal import choose_rule, summarize_intervals
    from forecast.evaluation.cv import CrossValidation, calibration_scores
    from forecast.models.device import cpu_threads
    from forecast.parallel.scheduler import Scheduler
    from forecast.pipeline.final_fit import final_epochs, final_train_config
    from forecast.pipeline.session import load_ticker_prices
    from pipelines.options import build_parser, options_from_args

    args = ["AAPL", *TINY, "--no-residual", "--epochs", "3"]
    assert main(args) == 0
    served = tracking.load_registered("stockcast-AAPL", "champion").forecaster

    options = options_from_args(build_parser().parse_args(args))
    prices = load_ticker_prices("AAPL", options)
    train = replace(options.train, progress=False)
    cv = CrossValidation(prices, options.window, options.lstm, train, options.cv)
    epochs = final_epochs([o.best_epoch for o in cv.submit(Scheduler()).collect()])
    assert epochs >= 1  # the final fit trained: its weights are not the seed's initial ones
    results = list(cv.results())
    rule = choose_rule(summarize_intervals([r.intervals for r in results])).rule
    with cpu_threads(train.threads):
        direct = Forecaster(options.window, options.lstm, final_train_config(train, epochs)).fit(
            prices,
            calibration_scores=calibration_scores(results, rule),
            levels=(0.8, 0.95),
            rule=rule,
        )
    # the served rule is the one CV chose, and the version says so
    version = MlflowClient().get_model_version_by_alias("stockcast-AAPL", "champion")
    assert served.interval_rule == rule == version.tags["intervals.rule"]

    assert served.to_dict() == direct.to_dict()  # configs, scaling, columns, last day
    assert served.calibration_.to_dict() == direct.calibration_.to_dict()
    weights = direct.model_.state_dict()
    for name, tensor in served.model_.state_dict().items():
        assert torch.equal(tensor, weights[name]), name


def test_no_register_logs_but_registers_nothing(store):
    assert main(["AAPL", *TINY, "--folds", "1", "--repeats", "1", "--no-register"]) == 0
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    assert client.search_registered_models() == []
    assert any(r.info.run_name == "final-fit" for r in runs(client))


class Sigterm(Exception):
    """Stands for a real SIGTERM sent to this process while the final model trains."""


@pytest.mark.parametrize(
    "error,status,code",
    [
        (RuntimeError("disk on fire"), "FAILED", 1),
        (KeyboardInterrupt(), "KILLED", 130),
        (Sigterm(), "KILLED", 130),
    ],
)
def test_a_failed_or_interrupted_run_registers_nothing_and_keeps_the_champion(
    store, monkeypatch, error, status, code
):
    fast = ["AAPL", *TINY, "--folds", "1", "--repeats", "1"]
    assert main(fast) == 0

    def broken_save(self, directory):  # the driver, as it logs the final model
        if isinstance(error, Sigterm):
            os.kill(os.getpid(), signal.SIGTERM)  # the pipeline's handler raises in this thread
        raise error

    monkeypatch.setattr(Forecaster, "save", broken_save)
    assert main(fast) == code
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    latest = [r for r in runs(client) if r.info.run_name.startswith("AAPL")][-1]
    assert latest.info.status == status
    assert next(
        r for r in runs(client) if r.info.run_name == "final-fit" and r.info.status == status
    )
    versions = client.search_model_versions("name='stockcast-AAPL'")
    assert [str(v.version) for v in versions] == ["1"]
    assert str(client.get_model_version_by_alias("stockcast-AAPL", "champion").version) == "1"


@pytest.mark.parametrize(
    "args,message",
    [
        (["AAPL", "--lookback", "0"], "lookback must be a number >= 1; got 0"),
        (["../etc"], "ticker '../etc' is not a valid symbol"),
        (
            ["AAPL", "--hidden-sizes", "64,x"],
            "hidden sizes must be integers like 64,32,16; got '64,x'",
        ),
        (["AAPL", "--head", "attention"], "invalid choice: 'attention'"),
        (["AAPL", "--source", "csv"], "--source csv needs --csv PATH"),
        (["AAPL", "--start", "2020-02-30"], "--start='2020-02-30' is not a date"),
        (["AAPL", "--promote", "--no-register"], "not allowed with argument"),
        (["AAPL", "--device", "mps"], "device='mps' was asked for but MPS"),
        (["AAPL", "--device", "cuda"], "device='cuda' was asked for but CUDA is not available"),
        (["AAPL", "--device", "tpu"], "device='tpu' is not a torch device"),
        (["AAPL", "--lookback"], "argument --lookback: expected one argument"),
        (["AAPL", "--levels", "0.8,1.5"], "levels must be numbers between 0 and 1"),
        (["AAPL", "--workers", "0"], "workers must be auto or a whole number >= 1; got '0'"),
        (["AAPL", "--executor", "spark"], "invalid choice: 'spark'"),
        (
            ["AAPL", "--scaler", "median"],
            "argument --scaler: invalid choice: 'median' (choose from 'minmax', 'standard', "
            "'window', 'log_return', 'robust', 'maxabs', 'quantile', 'power')",
        ),
        (
            ["AAPL", "--horizon", "300"],
            "horizon=300 needs test blocks of at least 300 rows (one forecast's steps); "
            "test_size=250",
        ),
        (["AAPL", "--horizon", "5", "--gap", "2"], "gap=2 must be at least horizon - 1 = 4 rows"),
    ],
)
def test_bad_options_get_one_line_and_exit_code_2(store, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    error, hint = capsys.readouterr().err.strip().splitlines()  # no usage block before them
    assert error.startswith("python -m pipelines.train: error:") and message in error
    assert hint == "(see `python -m pipelines.train --help` for the options)"
    assert not any(store.iterdir())  # checked before any run: no MLflow store was even created


def test_a_date_and_close_csv_trains_the_default_features_and_not_ohlcv(store, capsys):
    prices = load_prices("AAPL", source="sample", start="2011-06-01")
    path = store / "aapl.csv"
    pd.DataFrame({"Date": prices.index.strftime("%Y-%m-%d"), "Close": prices["close"]}).to_csv(
        path, index=False
    )
    tiny = TINY[TINY.index("--folds") :]  # no --source/--start: the file is the source
    assert main(["XYZ", "--csv", str(path), *tiny, "--no-register"]) == 0
    assert main(["XYZ", "--csv", str(path), *tiny, "--features", "ohlcv"]) == 1
    assert "lacks columns ['open', 'high', 'low', 'volume'], which features 'ohlcv' read" in (
        capsys.readouterr().err
    )


def test_no_data_gets_the_data_layers_message_and_exit_code_1(store, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("STOCKCAST_DATA_DIR", str(tmp_path / "cache"))
    assert main(["NVDA", "--folds", "1"]) == 1
    assert "Pass your own file with --source csv --csv PATH" in capsys.readouterr().err


def test_series_too_short_for_the_folds_exit_1(store, capsys):
    assert main(["AAPL", "--source", "sample", "--start", "2013-01-01", "--folds", "5"]) == 1
    assert "n_folds=5 x test_size=250" in capsys.readouterr().err


def test_config_file_toml_and_yaml_with_cli_overrides(store, tmp_path):
    from pipelines.options import build_parser, options_from_args

    toml = tmp_path / "run.toml"
    toml.write_text(
        'source = "sample"\n[window]\nlookback = 30\nscaler = "minmax"\n[cv]\nrepeats = 1\n'
        "[lstm]\nhidden_sizes = [16, 8]\n"
    )
    options = options_from_args(
        build_parser().parse_args(["AAPL", "--config", str(toml), "--lookback", "20"])
    )
    assert options.window.lookback == 20 and options.window.scaler == "minmax"
    assert (
        options.cv.repeats == 1
        and options.lstm.hidden_sizes == (16, 8)
        and options.source == "sample"
    )
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("train:\n  epochs: 3\n  lr: 0.01\n")
    options = options_from_args(build_parser().parse_args(["AAPL", "--config", str(yaml_file)]))
    assert options.train.epochs == 3 and options.train.lr == 0.01
    bad = tmp_path / "bad.toml"
    bad.write_text("[window]\nlookbak = 3\n")
    with pytest.raises(ValueError, match=r"\[window\] has unknown settings \['lookbak'\]"):
        options_from_args(build_parser().parse_args(["AAPL", "--config", str(bad)]))


def test_help_imports_no_heavy_module():
    code = (
        "import sys\nfrom pipelines.train import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'mlflow', 'pandas', 'yfinance') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert "--hidden-sizes" in out.stdout and "--no-register" in out.stdout


def test_a_lower_case_ticker_registers_the_model_the_service_serves(store, capsys):
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.config import Settings

    assert main(["aapl", *TINY, "--folds", "1", "--repeats", "1"]) == 0
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    assert [m.name for m in client.search_registered_models()] == ["stockcast-AAPL"]
    assert "registered stockcast-AAPL version 1" in capsys.readouterr().out
    parent = next(r for r in runs(client) if r.info.run_name.startswith("AAPL"))
    assert parent.data.tags["ticker"] == "AAPL"

    settings = Settings(
        tracking_uri=f"sqlite:///{store / 'mlflow.db'}", tickers=["aapl"], reload_interval_s=0
    )
    with TestClient(create_app(settings)) as api:
        wait_for(lambda: api.get("/ready").status_code == 200, 60, "the API to load AAPL")
        prices = load_prices("AAPL", source="sample").iloc[-30:]
        history = history_rows(prices)
        response = api.post("/forecast", json={"ticker": "aapl", "history": history})
    assert response.status_code == 200, response.text
    assert response.json()["ticker"] == "AAPL"
    assert response.json()["model"]["name"] == "stockcast-AAPL"


def test_an_identical_rerun_keeps_the_champion(store, capsys):
    fast = ["AAPL", *TINY, "--folds", "1", "--repeats", "1"]
    assert main(fast) == 0
    assert main(fast) == 0  # same data, folds and seeds: the same skill, to the last bit
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    first, second = (
        client.get_model_version("stockcast-AAPL", v).tags["cv.skill_mean"] for v in ("1", "2")
    )
    parent = next(r for r in runs(client) if r.info.run_name.startswith("AAPL"))
    # the tag holds the very skill the run logged, not a rounding of it
    assert first == second and float(first) == parent.data.metrics["cv/model/skill_mean"]
    assert str(client.get_model_version_by_alias("stockcast-AAPL", "champion").version) == "1"
    assert "kept champion v1: CV skill" in capsys.readouterr().out.split("version 2:")[1]


def test_a_cli_run_prints_no_third_party_noise(tmp_path):
    command = [
        sys.executable,
        "-m",
        "pipelines.train",
        "AAPL",
        *TINY,
        "--folds",
        "1",
        "--repeats",
        "1",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
    ]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    for _ in range(2):  # the second run registers version 2 of an existing model
        result = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env
        )
        assert result.returncode == 0, result.stderr[-2000:]
    noises = ("type hints", "already exists", "Validating input example", "Created version")
    for noise in (*noises, "Downloading artifacts"):
        assert noise not in result.stderr, result.stderr
    assert "AAPL fold 1/1: RMSE" in result.stderr  # our own progress lines stay
    assert "registered stockcast-AAPL version 2" in result.stdout


@pytest.mark.parametrize(
    ("workers", "event"), [("1", "starting"), ("2", "done")], ids=["in-process", "workers"]
)
def test_a_piped_run_logs_each_fit_with_elapsed_and_eta_and_each_table_when_done(
    tmp_path, workers, event
):
    command = [
        *(sys.executable, "-m", "pipelines.train", "AAPL", "MSFT", *TINY),
        *("--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--no-register"),
        *("--workers", workers),
    ]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines = [line.rstrip() for line in process.stdout]  # stdout and stderr, in the order written
    assert process.wait(timeout=300) == 0, "\n".join(lines[-30:])
    fits = [line for line in lines if f": {event}; " in line]
    # 2 folds x 2 repeats + the final fit, per ticker; stderr is a pipe, so lines, not a bar
    assert len(fits) == 10, "\n".join(lines)
    aapl = [line for line in fits if " AAPL " in line]
    assert len(aapl) == 5
    table = next(i for i, line in enumerate(lines) if line.startswith("AAPL (sample"))
    if (
        event == "starting"
    ):  # in this process: a line as each fit starts, one ticker after the other
        assert re.search(
            r"AAPL cv fold 1/2, repeat 1/2: starting; 0/5 fits done, \d+ s elapsed, "
            r"ETA after the first fit$",
            aapl[0],
        )
        second = r"AAPL cv fold 1/2, repeat 2/2: starting; 1/5 fits done, \d+ s elapsed, ETA \d+ s"
        assert "AAPL final fit: starting; 4/5 fits done" in aapl[4]
        # AAPL's table comes before any line of MSFT's fits
        assert table < next(i for i, line in enumerate(lines) if "MSFT cv fold" in line)
    else:  # by workers, both tickers side by side, the biggest fold first: a line per result
        first = r"AAPL cv fold 2/2, repeat \d/2: done; 1/5 fits done, \d+ s elapsed"
        assert re.search(first, aapl[0])
        second = r"AAPL cv fold 2/2, repeat \d/2: done; 2/5 fits done, \d+ s elapsed, ETA \d+ s"
        assert "AAPL final fit: done; 5/5 fits done" in aapl[4]
        assert table < next(i for i, line in enumerate(lines) if line.startswith("MSFT (sample"))
    assert re.search(second, aapl[1])
    # then a summary of both; the UI hint once, at the end
    summary = lines.index("summary")
    assert lines[summary + 2].startswith("AAPL") and lines[summary + 3].startswith("MSFT")
    assert [line for line in lines if "Compare runs in the MLflow UI" in line] == [
        next(line for line in reversed(lines) if line)
    ]
