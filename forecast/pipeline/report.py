"""The end-of-run table: model vs each baseline per metric (mean +- std over folds)."""

from __future__ import annotations

from typing import Any

from forecast.config import LEVELS
from forecast.evaluation.backtest import backtest_table
from forecast.evaluation.conformal import PINBALL_QUANTILES, RULE_SOURCES
from forecast.evaluation.metrics import METRICS
from forecast.intervals import level_name
from forecast.tracking.names import model_name


def render(summaries: list[Any]) -> str:
    """Each ticker's table; printed as soon as its ticker is done."""
    lines = []
    for s in summaries:
        names = ["model", *[n for n in s.aggregates if n != "model"]]
        lines.append(
            f"\n{s.ticker} ({s.source}, {s.data_range}); {len(s.diagnoses)} folds; final fit "
            f"{plural(s.final_epochs, 'epoch')}; {s.seconds:.0f} s, MLflow logging "
            f"{s.tracking_seconds:.1f} s "
            f"({100 * s.tracking_seconds / max(s.seconds, 1e-9):.1f}%)"
        )
        header = f"{'metric':<22}" + "".join(f"{'LSTM' if n == 'model' else n:>20}" for n in names)
        lines += [header, "-" * len(header)]
        for metric in (*METRICS, "skill"):
            cells = []
            for name in names:
                stats = s.aggregates[name][metric]
                cells.append(f"{stats['mean']:>11.4f} +- {stats['std']:<5.3f}"[:20].rjust(20))
            lines.append(f"{metric:<22}" + "".join(cells))
        lines += _interval_lines(s)
        if s.backtest is not None:
            lines += backtest_table(s.backtest, s.rule.rule)
        lines.append(f"fit diagnosis per fold: {', '.join(s.diagnoses)}")
        if s.version is not None:
            lines.append(f"registered {model_name(s.ticker)} version {s.version}: {s.decision}")
        else:
            lines.append(s.decision)
        lines.append(f"MLflow run {s.run_id}")
    return "\n".join(lines)


# the interval table's rows: the LSTM's point with each width rule, then the naive forecast's
# with the EWMA rule (what the rules are worth beside a point that ties naive)
_ROWS = {
    **{source: f"LSTM + {rule}" for rule, source in RULE_SOURCES.items()},
    "naive": "naive + ewma",
}


def _interval_lines(s: Any) -> list[str]:
    """Coverage, width and interval score per level and rule, calibrated on earlier folds
    only, and each rule's mean pinball loss."""
    if not s.intervals:
        return []
    levels = list(next(iter(s.intervals.values())))
    quantiles = f"{PINBALL_QUANTILES[0]:g}-{PINBALL_QUANTILES[-1]:g}"
    lines = [
        f"intervals (folds 2-{len(s.diagnoses)}, each calibrated on the folds before it; "
        f"{plural(s.interval_folds, 'fold')}): coverage / width % of price / Winkler score",
        f"  {'':<18}"
        + "".join(f"{f'{level:.0%}':<28}" for level in levels)
        + f"pinball {quantiles}",
    ]
    for source, label in _ROWS.items():
        if source not in s.intervals:  # not measured (too few rows) or logged before it existed
            continue
        cells = []
        for level in levels:
            f = s.intervals[source][level]
            cells.append(
                f"{f['coverage']:.3f} / {f['width_pct']:.2f}% / {f['winkler']:.3f}".ljust(28)
            )
        pinball = f"{s.pinball[source]:.4f}" if source in s.pinball else "-"
        lines.append(f"  {label:<18}" + "".join(cells) + pinball)
    lines.append(f"served intervals: {s.rule.message}")
    return lines


def summary_table(summaries: list[Any], failed: dict[str, str]) -> str:
    """One line per ticker after a multi-ticker run: CV skill, coverage at the first default
    level (80%), the registry's decision and the wall time; then the tickers that failed, and
    why."""
    covered = f"{level_name(LEVELS[0])}% coverage"
    lines = [
        "\nsummary",
        f"{'ticker':<8}{'CV skill':>20}{covered:>14}{'seconds':>9}  registry",
    ]
    for s in summaries:
        skill = s.aggregates["model"]["skill"]
        served = RULE_SOURCES[s.rule.rule]
        coverage = s.intervals.get(served, {}).get(LEVELS[0], {}).get("coverage")
        lines.append(
            f"{s.ticker:<8}{skill['mean']:>+11.4f} +- {skill['std']:.4f}"
            f"{'-' if coverage is None else f'{coverage:.3f}':>14}{s.seconds:>9.0f}  {s.decision}"
        )
    for ticker, why in failed.items():
        lines.append(f"{ticker:<8}failed: {why}")
    return "\n".join(lines)


def ui_hint(where: str) -> str:
    return f"\nCompare runs in the MLflow UI: {where}"


def plural(count: int, noun: str) -> str:
    """1 epoch, 2 epochs."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def performance_table(ticker: str, days: int, report: list[Any]) -> str:
    """pipelines.performance's table: per version (VersionPerformance), live figures beside
    CV's promise; each level's coverage with its tolerance band and the drift flag."""
    if not report:
        return f"{ticker}: forecasts recorded, but none of their dates' closes has arrived yet"

    def promised(value: float | None, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    lines = [f"\n{ticker}: live performance over the last {days} trading days with outcomes"]
    for p in report:
        lines.append(
            f"v{p.version}: {p.n} steps on {p.days} days ({p.first_date} to {p.last_date}); "
            f"RMSE {p.rmse:.4f} (CV {promised(p.promised_rmse, '.4f')}), naive {p.naive_rmse:.4f}; "
            f"skill {p.skill:+.4f} (CV {promised(p.promised_skill, '+.4f')})"
        )
        for lv in p.levels:
            low, high = lv.tolerance
            cv_coverage = None if lv.promised_coverage is None else 100 * lv.promised_coverage
            lines.append(
                f"  {level_name(lv.level)}% interval: coverage {100 * lv.coverage:.1f}% of {lv.n} "
                f"(CV {promised(cv_coverage, '.1f')}%, "
                f"tolerance {100 * low:.1f}-{100 * high:.1f}%), width {lv.mean_width:.3f} "
                f"(CV {promised(lv.promised_width, '.3f')})" + ("  DRIFTING" if lv.drifting else "")
            )
    return "\n".join(lines)
