"""pipelines.backtest: a registered model's forecasts after its training data, with costs."""

import pytest

from pipelines.backtest import main as backtest
from tests.helpers import TINY_PIPELINE, run_pipeline


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A tiny AAPL model trained on the sample up to 2012-06-29, registered as champion."""
    folder = tmp_path_factory.mktemp("backtest")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    out = run_pipeline(uri, folder, *TINY_PIPELINE, "--end", "2012-06-29")
    # the pipeline reports the backtest of its CV forecasts under the CV table
    assert "backtest after costs (5 bps per unit traded" in out
    assert "buy_and_hold" in out and "assumptions: fills at the close" in out
    return uri


def test_a_held_out_period_after_the_training_data_is_backtested(store, capsys):
    assert backtest(["AAPL", "--source", "sample", "--tracking-uri", store]) == 0
    out = capsys.readouterr().out
    assert "stockcast-AAPL version 1 (trained 2011-01-03..2012-06-29)" in out
    assert "2012-07-02..2013-03-01" in out  # every day after it, to the sample's end
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert {"buy_and_hold", "direction", "vol_target", "vol_target_ewma"} <= set(rows)
    assert "(benchmark)" in rows["buy_and_hold"] and "[" in rows["direction"]


def test_a_period_overlapping_the_training_rows_is_refused(store, capsys):
    args = ["AAPL", "--source", "sample", "--tracking-uri", store, "--start", "2012-06-01"]
    assert backtest(args) == 1
    err = capsys.readouterr().err
    assert err == (
        "AAPL: the period 2012-06-01..2013-03-01 overlaps the rows stockcast-AAPL version 1 "
        "trained on, 2011-01-03..2012-06-29: that would be in-sample; start after 2012-06-29\n"
    )


def test_a_period_with_no_days_after_the_training_data_says_so(store, capsys):
    args = ["AAPL", "--source", "sample", "--tracking-uri", store, "--end", "2012-06-15"]
    assert backtest(args) == 1
    assert capsys.readouterr().err == (
        "AAPL: no days to backtest from 2012-06-30 to 2012-06-15: stockcast-AAPL version 1 "
        "trained on 2011-01-03..2012-06-29 and the prices end 2013-03-01; train with --end to "
        "hold a period out\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["AAPL", "--cost-bps", "-1"], "cost_bps=-1.0; allowed: a number in [0, 10000)"),
        (["AAPL", "--start", "2013-01-10", "--end", "2013-01-02"], "is before --start"),
        (["AAPL", "--version", "1", "--alias", "x"], "not allowed with argument --version"),
        (["../x"], "ticker '../x' is not a valid symbol"),
    ],
)
def test_bad_options_are_exit_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        backtest(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 2  # the line, and where help is
