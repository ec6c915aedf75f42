from forecast.tracking.cards import VersionCard, beats_naive
from forecast.tracking.names import (
    BEATS_NAIVE_TAG,
    FOLDS_TAG,
    RUN_ID_TAG,
    SKILL_STDERR_TAG,
    SKILL_TAG,
    TRAINED_UNTIL_TAG,
)


def test_a_versions_card_reads_its_tags():
    tags = {
        SKILL_TAG: "0.0123",
        SKILL_STDERR_TAG: "0.004",
        BEATS_NAIVE_TAG: "true",
        FOLDS_TAG: "abc123",  # a signature, not a metric
        "cv.rmse_mean": "0.77",
        "cv.naive.rmse_mean": "0.0",
        RUN_ID_TAG: "9f1e",
        TRAINED_UNTIL_TAG: "2013-03-01",
        "source": "sample",
    }
    card = VersionCard.of(tags)
    assert card.cv_metrics == {
        "skill_mean": 0.0123,
        "skill_stderr": 0.004,
        "rmse_mean": 0.77,
        "naive.rmse_mean": 0.0,
    }
    assert (card.skill, card.skill_stderr, card.beats_naive) == (0.0123, 0.004, True)
    assert (card.pipeline_run_id, card.trained_until) == ("9f1e", "2013-03-01")


def test_versions_registered_before_the_beats_naive_tag_get_it_from_the_rule():
    assert VersionCard.of({SKILL_TAG: "0.01", SKILL_STDERR_TAG: "0.02"}).beats_naive is False
    assert VersionCard.of({SKILL_TAG: "0.03", SKILL_STDERR_TAG: "0.02"}).beats_naive is True
    assert VersionCard.of({}) == VersionCard()
    assert beats_naive(0.03, 0.02) and not beats_naive(-0.01, 0.0)
