"""What a registered version's tags say about it, read in one place: its CV metrics, its skill
against naive and whether that beats naive, its run and its last training day. No mlflow import:
the service reads cards of versions it has already loaded."""

from __future__ import annotations

from dataclasses import dataclass, field

from forecast.tracking.names import (
    BEATS_NAIVE_TAG,
    CV_TAG_PREFIX,
    FOLDS_TAG,
    INTERVAL_RULE_TAG,
    RUN_ID_TAG,
    SKILL_STDERR_TAG,
    SKILL_TAG,
    TRAINED_UNTIL_TAG,
    interval_tag,
)


def beats_naive(skill_mean: float, skill_stderr: float) -> bool:
    """The CV skill is above zero by more than its standard error: the point forecast is worth
    more than "tomorrow equals today", beyond the noise of the folds (the cv.beats_naive tag)."""
    return skill_mean > skill_stderr


@dataclass(frozen=True)
class VersionCard:
    """A registered version as its tags describe it (None where a tag is missing)."""

    cv_metrics: dict[str, float] = field(default_factory=dict)  # cv.<name> tags, as numbers
    skill: float | None = None
    skill_stderr: float | None = None
    beats_naive: bool | None = None
    pipeline_run_id: str | None = None
    trained_until: str | None = None
    interval_rule: str | None = None  # ewma, garch or constant; None: tagged before the choice

    @classmethod
    def of(cls, tags: dict[str, str]) -> VersionCard:
        """Read `tags`; versions registered before the beats_naive tag get it from the rule."""
        cv = {}
        for key, value in tags.items():
            number = _number(value)
            if key.startswith(CV_TAG_PREFIX) and key != FOLDS_TAG and number is not None:
                cv[key.removeprefix(CV_TAG_PREFIX)] = number
        skill, stderr = _number(tags.get(SKILL_TAG)), _number(tags.get(SKILL_STDERR_TAG))
        beats = tags.get(BEATS_NAIVE_TAG)
        if beats is None and skill is not None and stderr is not None:
            beats = str(beats_naive(skill, stderr)).lower()
        return cls(
            cv_metrics=cv,
            skill=skill,
            skill_stderr=stderr,
            beats_naive=None if beats is None else beats == "true",
            pipeline_run_id=tags.get(RUN_ID_TAG),
            trained_until=tags.get(TRAINED_UNTIL_TAG),
            interval_rule=tags.get(INTERVAL_RULE_TAG),
        )

    def promised_interval(self, level: float, metric: str) -> float | None:
        """The served interval's CV `metric` (coverage, width) at `level`, when tagged."""
        from forecast.intervals import level_name

        tag = interval_tag(level_name(level), metric).removeprefix(CV_TAG_PREFIX)
        return self.cv_metrics.get(tag)


def _number(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None
