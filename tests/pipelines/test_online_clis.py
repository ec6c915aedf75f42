"""pipelines.performance and pipelines.retrain on bad input: one clear line, the right exit."""

import pytest

from pipelines.performance import main as performance
from pipelines.retrain import main as retrain


def test_performance_without_a_ledger_says_so_in_one_line(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert (
        performance(
            ["AAPL", "--ledger-uri", uri, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err == (
        f"AAPL: no forecast ledger at Ledger({uri}) yet: the service creates it when it records "
        "its first forecast (a request without history)\n"
    )
    assert not (tmp_path / "ledger.db").exists()


@pytest.mark.parametrize(
    ("cli", "args", "message"),
    [
        (performance, ["AAPL", "--days", "0"], "--days 0: must be at least 1"),
        (performance, ["../x"], "ticker '../x' is not a valid symbol"),
        (retrain, ["AAPL", "--min-new-days", "0"], "--min-new-days 0: must be at least 1"),
        (
            retrain,
            ["AAPL", "--min-new-days", "x"],
            "argument --min-new-days: invalid int value: 'x'",
        ),
        (retrain, ["../x"], "ticker '../x' is not a valid symbol"),
    ],
)
def test_bad_options_are_exit_2_with_one_line(cli, args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        cli(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err.splitlines()[0]


def test_retrain_of_a_ticker_without_a_champion_names_it_and_how_to_get_one(tmp_path, capsys):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert retrain(["MSFT", "--tracking-uri", store, "--source", "sample"]) == 1
    assert capsys.readouterr().err == (
        "MSFT: error: no champion registered (stockcast-MSFT@champion); train one first: "
        "python -m pipelines.train MSFT\n"
    )
    assert retrain(["--tracking-uri", store]) == 0
    assert capsys.readouterr().out == "no champions registered: nothing to retrain\n"
