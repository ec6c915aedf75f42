"""The registry step of the pipeline: a new version carrying its data, run and CV figures, then
the champion rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forecast import tracking
from forecast.evaluation.conformal import RULE_SOURCES
from forecast.intervals import level_name
from forecast.tracking.cards import beats_naive

if TYPE_CHECKING:
    from forecast.pipeline.jobs import Stopwatch, TickerSummary
    from forecast.pipeline.options import PipelineOptions


def register(
    ticker: str,
    model_uri: str,
    summary: TickerSummary,
    tags: dict[str, str],
    options: PipelineOptions,
    clock: Stopwatch,
) -> None:
    """Register the final model as a new version with its CV tags, then apply the champion rule
    (or --promote); the summary gets the version and the decision."""
    name = tracking.model_name(ticker)
    model = summary.aggregates["model"]
    extra = {} if options.retrain_of is None else {tracking.RETRAIN_OF_TAG: options.retrain_of}
    version = clock(tracking.register, model_uri, name, version_tags(summary, tags) | extra)
    decision = clock(
        tracking.promote_or_keep,
        name,
        str(version.version),
        model["skill"]["mean"],
        tags[tracking.FOLDS_TAG],
        force=options.promote,
        retrain_of=options.retrain_of,
        skill_stderr=model["skill"]["stderr"],
    )
    summary.version, summary.promoted, summary.decision = (
        decision.version,
        decision.promoted,
        decision.message,
    )


def version_tags(summary: TickerSummary, tags: dict[str, str]) -> dict[str, str]:
    """What a registered version carries: its data, its run and its CV figures, the skill at full
    precision (the champion rule compares it)."""
    model, naive = summary.aggregates["model"], summary.aggregates["naive"]
    return {
        **{k: tags[k] for k in ("data_start", "data_end", "data_hash", "source")},
        tracking.INTERVAL_RULE_TAG: summary.rule.rule,
        tracking.FOLDS_TAG: tags[tracking.FOLDS_TAG],
        tracking.RUN_ID_TAG: summary.run_id,
        tracking.TRAINED_UNTIL_TAG: tags["data_end"],
        **{
            f"{tracking.CV_TAG_PREFIX}{k}_mean": f"{stats['mean']:.6f}"
            for k, stats in model.items()
            if k != "skill"
        },
        **{
            f"{tracking.CV_TAG_PREFIX}naive.{key}_mean": f"{stats['mean']:.6f}"
            for key, stats in naive.items()
        },
        **_interval_tags(summary),
        tracking.SKILL_TAG: repr(float(model["skill"]["mean"])),
        tracking.SKILL_STDERR_TAG: repr(float(model["skill"]["stderr"])),
        tracking.BEATS_NAIVE_TAG: str(
            beats_naive(model["skill"]["mean"], model["skill"]["stderr"])
        ).lower(),
    }


def _interval_tags(summary: TickerSummary) -> dict[str, str]:
    """The served rule's CV coverage and width per level (what live coverage is judged by)."""
    served = RULE_SOURCES[summary.rule.rule]
    return {
        tracking.interval_tag(level_name(level), metric): f"{figures[metric]:.6f}"
        for level, figures in summary.intervals.get(served, {}).items()
        for metric in ("coverage", "width")
    }
