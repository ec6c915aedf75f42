import pytest

from forecast.evaluation.metrics import METRICS
from forecast.pipeline.jobs import TickerSummary
from forecast.pipeline.report import plural, render


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


def test_the_table_has_an_interval_block_when_folds_were_calibrated():
    plain = summary(2)
    assert "intervals" not in render([plain])
    figures = {"coverage": 0.81, "width": 2.0, "width_pct": 3.5, "winkler": 4.2}
    plain.intervals = {
        source: {0.8: figures, 0.95: figures} for source in ("model", "model_constant", "naive")
    }
    plain.interval_folds = 1
    text = render([plain])
    assert "each calibrated on the folds before it; 1 fold" in text
    header = next(line for line in text.splitlines() if "pinball" in line)
    assert header.split() == ["80%", "95%", "pinball", "0.05-0.95"]
    rows = {line.split("  ")[1].strip(): line for line in text.splitlines() if "LSTM +" in line}
    assert list(rows) == ["LSTM + ewma", "LSTM + constant"]  # only the rules measured
    assert rows["LSTM + ewma"].split()[3:] == ["0.810", "/", "3.50%", "/", "4.200"] * 2 + ["-"]
    assert "naive + ewma" in text


def test_plural():
    assert [plural(n, "fold") for n in (0, 1, 2)] == ["0 folds", "1 fold", "2 folds"]
