import pytest

from forecast.evaluation.metrics import METRICS
from pipelines.report import plural, render
from pipelines.run import TickerSummary


def summary(final_epochs):
    stats = {"mean": 1.0, "std": 0.1, "stderr": 0.05}
    metrics = {name: stats for name in (*METRICS, "skill")}
    return TickerSummary(
        ticker="AAPL",
        source="sample",
        data_range="2000-01-03..2013-03-01",
        aggregates={"model": metrics, "naive": metrics},
        diagnoses=["good", "good"],
        final_epochs=final_epochs,
        run_id="abc",
    )


@pytest.mark.parametrize(
    "epochs,text", [(1, "final fit 1 epoch;"), (2, "final fit 2 epochs;"), (0, "0 epochs")]
)
def test_the_table_counts_epochs_in_english(epochs, text):
    assert text in render([summary(epochs)])


def test_plural():
    assert [plural(n, "fold") for n in (0, 1, 2)] == ["0 folds", "1 fold", "2 folds"]
