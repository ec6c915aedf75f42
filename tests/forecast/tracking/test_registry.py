import mlflow
import pytest
from mlflow.tracking import MlflowClient

from forecast.data import PriceDataError
from forecast.tracking import registry
from forecast.tracking.names import CHAMPION, FOLDS_TAG, SKILL_TAG, model_name


def test_model_names_are_built_from_normalized_tickers():
    assert model_name(" aapl ") == "stockcast-AAPL" == model_name("AAPL")
    assert model_name("brk-b") == "stockcast-BRK-B"
    with pytest.raises(PriceDataError, match=r"ticker '\.\./x' is not a valid symbol"):
        model_name("../x")


def test_beating_the_champion_takes_more_than_the_margin():
    margin = registry.MIN_SKILL_GAIN
    assert not registry.beats(-0.0085, -0.0085)  # a tie keeps the champion
    assert not registry.beats(0.01 + margin / 2, 0.01)
    assert registry.beats(0.01 + 2 * margin, 0.01)
    assert registry.beats(-1.0, float("-inf"))


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # set_tracking_uri sets it too: undo after
    mlflow.set_tracking_uri(uri)
    yield MlflowClient()


def add_version(client, name, skill, folds):
    """A registered version carrying the tags the champion rule reads (no model needed)."""
    try:
        client.create_registered_model(name)
    except mlflow.exceptions.MlflowException:
        pass
    tags = {SKILL_TAG: repr(skill), FOLDS_TAG: folds}
    return str(client.create_model_version(name, source="file:///nowhere", tags=tags).version)


def champion_of(client, name):
    return str(client.get_model_version_by_alias(name, CHAMPION).version)


def test_promote_or_keep_follows_the_champion_rule(store):
    name = "stockcast-TEST"
    v1 = add_version(store, name, -0.0085, "folds-a")
    first = registry.promote_or_keep(name, v1, -0.0085, "folds-a")
    assert first.promoted and first.message == "promoted (first champion)"

    v2 = add_version(store, name, -0.0085, "folds-a")  # an identical rerun
    tie = registry.promote_or_keep(name, v2, -0.0085, "folds-a")
    assert not tie.promoted and tie.message.startswith("kept champion v1: CV skill -0.0085")
    assert champion_of(store, name) == v1

    v3 = add_version(store, name, 0.01, "folds-a")
    better = registry.promote_or_keep(name, v3, 0.01, "folds-a")
    assert better.promoted and better.message.startswith("promoted: CV skill +0.0100 beats")
    assert champion_of(store, name) == v3

    v4 = add_version(store, name, 0.5, "folds-b")  # other folds do not compare
    other = registry.promote_or_keep(name, v4, 0.5, "folds-b")
    assert not other.promoted and "other data or folds" in other.message
    assert champion_of(store, name) == v3

    forced = registry.promote_or_keep(name, v4, 0.5, "folds-b", force=True)
    assert forced.promoted and forced.message == "promoted (--promote)"
    assert champion_of(store, name) == v4


def test_settling_moves_the_alias_to_the_best_version_of_the_same_folds(store):
    name = "stockcast-RACE"
    worse = add_version(store, name, 0.00, "folds-a")
    best = add_version(store, name, 0.02, "folds-a")
    registry.promote(name, worse)  # a racing pipeline promoted the worse one last
    assert registry.settle_champion(name, "folds-a") == best
    assert champion_of(store, name) == best
    assert registry.settle_champion(name, "folds-z") == best  # other folds: left alone


@pytest.mark.parametrize(
    "error",
    [
        mlflow.exceptions.MlflowException("(sqlite3.OperationalError) database is locked"),
        mlflow.exceptions.MlflowException(
            "API request failed with error code 503", error_code="TEMPORARILY_UNAVAILABLE"
        ),
    ],
    ids=["locked-sqlite", "server-503"],
)
def test_a_transient_registry_error_moves_no_champion(store, monkeypatch, error):
    name = "stockcast-FLAKY"
    v1 = add_version(store, name, 0.01, "folds-a")
    registry.promote(name, v1)
    v2 = add_version(store, name, -0.5, "folds-a")  # worse: it must never become champion

    def unavailable(self, *args):
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(MlflowClient, "get_model_version_by_alias", unavailable)
        with pytest.raises(registry.RegistryUnavailableError, match="MLflow registry error"):
            registry.promote_or_keep(name, v2, -0.5, "folds-a")
    assert champion_of(store, name) == v1


def test_only_a_missing_model_or_alias_means_no_champion(store):
    assert registry.champion("stockcast-NOSUCH") is None  # no registered model
    add_version(store, "stockcast-NOALIAS", 0.0, "folds-a")
    assert registry.champion("stockcast-NOALIAS") is None  # a model without the alias


def test_a_retrain_of_the_champion_replaces_it_unless_its_skill_falls_beyond_its_stderr(store):
    name = "stockcast-RETRAIN"
    v1 = add_version(store, name, 0.0040, "folds-a")
    registry.promote_or_keep(name, v1, 0.0040, "folds-a")
    assert registry.refreshes(0.0030, 0.0020, 0.0040) and not registry.refreshes(0.0, 0.001, 0.004)

    v2 = add_version(store, name, -0.0050, "folds-b")  # newer folds, clearly worse
    worse = registry.promote_or_keep(
        name, v2, -0.0050, "folds-b", retrain_of=v1, skill_stderr=0.004
    )
    assert not worse.promoted and champion_of(store, name) == v1
    assert worse.message == (
        "kept champion v1: the retrain's CV skill -0.0050 is more than its standard error "
        "0.0040 below v1's +0.0040"
    )
    v3 = add_version(store, name, 0.0010, "folds-c")  # within its standard error
    kin = registry.promote_or_keep(name, v3, 0.0010, "folds-c", retrain_of=v1, skill_stderr=0.004)
    assert kin.promoted and champion_of(store, name) == v3
    assert kin.message.startswith("promoted: the retrain's CV skill +0.0010 is no more than")

    v4 = add_version(store, name, 0.5, "folds-d")  # a retrain of v1, which no longer serves
    stale = registry.promote_or_keep(name, v4, 0.5, "folds-d", retrain_of=v1, skill_stderr=0.0)
    assert not stale.promoted and "other data or folds" in stale.message
