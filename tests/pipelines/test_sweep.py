import pytest
from mlflow.tracking import MlflowClient

from forecast.config import LSTMConfig
from pipelines.sweep import candidates, main
from tests.pipelines.test_train import TINY, runs

# the pipeline's tiny run, one repeat; the sweep's --lookback and --hidden-sizes come after
GRID = [*TINY, "--repeats", "1"]


def test_a_grid_logs_every_candidate_under_one_sweep_run_and_registers_the_best(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    argv = ["AAPL", *GRID, "--lookback", "10,15", "--hidden-sizes", "8", "4", "--tracking-uri", uri]
    assert main(argv) == 0
    client = MlflowClient(uri)
    everything = runs(client)
    (sweep,) = [r for r in everything if "mlflow.parentRunId" not in r.data.tags]
    assert sweep.info.run_name == "sweep AAPL" and sweep.info.status == "FINISHED"
    candidates = {
        r.info.run_name: r
        for r in everything
        if r.data.tags.get("mlflow.parentRunId") == sweep.info.run_id
    }
    assert set(candidates) == {
        f"lookback={lookback} hidden={hidden}" for lookback in (10, 15) for hidden in (8, 4)
    }
    for candidate in candidates.values():  # each with its folds and final fit, as a pipeline
        children = {
            r.info.run_name
            for r in everything
            if r.data.tags.get("mlflow.parentRunId") == candidate.info.run_id
        }
        assert children == {"cv/fold-1", "cv/fold-2", "final-fit"}
    assert candidates["lookback=15 hidden=4"].data.params["window.lookback"] == "15"
    assert candidates["lookback=15 hidden=4"].data.params["lstm.hidden_sizes"] == "(4,)"
    skills = {n: r.data.metrics["cv/model/skill_mean"] for n, r in candidates.items()}
    best = max(skills, key=skills.get)
    assert sweep.data.tags["sweep.best"] == best
    version = client.get_model_version_by_alias("stockcast-AAPL", "champion")
    assert version.tags["run_id"] == candidates[best].info.run_id  # the best one, registered
    assert len(client.search_model_versions("name='stockcast-AAPL'")) == 1
    printed = capsys.readouterr().out
    assert f"{best}" in printed and "<- best" in printed and "promoted (first champion)" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lookback", "10"], "a sweep needs two or more candidates"),
        (["--lookback", "10,0"], "lookbacks must be whole numbers >= 1"),
        (["--lookback", "10,20", "--hidden-sizes", "8", "x"], "hidden sizes must be integers"),
        (["--lookback", "10,20", "--epochs", "-1"], "epochs must be a number >= 0"),
    ],
    ids=["one-candidate", "lookback", "hidden-sizes", "pipeline-option"],
)
def test_bad_grids_get_one_line_and_exit_code_2(capsys, args, message):
    with pytest.raises(SystemExit) as stopped:
        main(["AAPL", *args])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_a_dimension_not_swept_takes_the_pipelines_value(tmp_path):
    swept = candidates(["AAPL", "--lookback", "10,15"])
    assert list(swept) == [
        f"lookback={lookback} hidden={','.join(map(str, LSTMConfig().hidden_sizes))}"
        for lookback in (10, 15)
    ]
    config = tmp_path / "run.toml"
    config.write_text("[window]\nlookback = 30\n\n[lstm]\nhidden_sizes = [8]\n")
    swept = candidates(["AAPL", "--config", str(config), "--hidden-sizes", "4", "16,8"])
    assert list(swept) == ["lookback=30 hidden=4", "lookback=30 hidden=16,8"]
    swept = candidates(["AAPL", "--config", str(config), "--lookback", "10,20"])
    assert [o.lstm.hidden_sizes for o in swept.values()] == [(8,), (8,)]
