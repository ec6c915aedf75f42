"""The model registry: register versions with their CV tags, decide and move the champion alias,
load a version by alias."""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from forecast.forecaster import Forecaster
from forecast.tracking.cards import VersionCard
from forecast.tracking.names import CHAMPION, FOLDS_TAG, SKILL_TAG
from forecast.tracking.runs import tracking_uri

log = logging.getLogger(__name__)


class ModelNotFoundError(LookupError):
    """The registry has no such model, version or alias."""


class RegistryUnavailableError(RuntimeError):
    """The tracking server or store could not be reached."""


@dataclass(frozen=True)
class RegisteredForecaster:
    """A Forecaster loaded from the registry, with where it came from."""

    forecaster: Forecaster
    name: str
    version: str
    alias: str  # the alias it was loaded by ("" when by version)
    run_id: str
    tags: dict[str, str]

    @property
    def card(self) -> VersionCard:
        """What the version's tags say: CV metrics, skill, beats naive, run, last day."""
        return VersionCard.of(self.tags)


def _registry_call(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except MlflowException as err:
        if err.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise ModelNotFoundError(str(err)) from err
        raise RegistryUnavailableError(f"MLflow registry error at {tracking_uri()}: {err}") from err
    except (OSError, ConnectionError) as err:
        raise RegistryUnavailableError(
            f"MLflow registry unreachable at {tracking_uri()}: {err}"
        ) from err
    except Exception as err:  # sqlalchemy and requests errors, without importing them here
        module = type(err).__module__
        if module.startswith(("sqlalchemy", "requests", "urllib3")):
            raise RegistryUnavailableError(
                f"MLflow registry unreachable at {tracking_uri()}: {err}"
            ) from err
        raise


def alias_version(name: str, alias: str) -> str:
    """The version `alias` points at; ModelNotFoundError or RegistryUnavailableError otherwise."""
    return str(_registry_call(MlflowClient().get_model_version_by_alias, name, alias).version)


def load_registered(
    name: str, alias: str | None = None, *, version: str | None = None
) -> RegisteredForecaster:
    """Download `models:/name@alias` (or version `version`: give one) and load its Forecaster
    directly (no pyfunc wrapper)."""
    if (alias is None) == (version is None):
        raise ValueError("load_registered takes an alias or a version, one of them")
    client = MlflowClient()
    found = (
        _registry_call(client.get_model_version, name, version)
        if version is not None
        else _registry_call(client.get_model_version_by_alias, name, alias)
    )
    with tempfile.TemporaryDirectory() as tmp:
        local = _registry_call(
            lambda: mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{found.version}", dst_path=tmp
            )
        )
        forecaster = Forecaster.load(Path(local) / "artifacts" / "forecaster")
    return RegisteredForecaster(
        forecaster, name, str(found.version), alias or "", found.run_id or "", dict(found.tags)
    )


def version_cards(name: str, versions: list[str]) -> dict[str, VersionCard]:
    """What the tags of each of `versions` say (versions the registry lacks are left out)."""
    client, cards = MlflowClient(), {}
    for version in versions:
        try:
            found = _registry_call(client.get_model_version, name, version)
        except ModelNotFoundError:
            continue
        cards[version] = VersionCard.of(dict(found.tags))
    return cards


def champion_tickers(prefix: str) -> list[str]:
    """The tickers whose model (named `prefix` + ticker) has a champion alias."""
    client = MlflowClient()
    found = _registry_call(
        lambda: client.search_registered_models(filter_string=f"name LIKE '{prefix}%'")
    )
    return sorted(
        model.name.removeprefix(prefix) for model in found if CHAMPION in (model.aliases or {})
    )


def run_dict(run_id: str, path: str) -> dict[str, Any]:
    """A JSON artifact of a run (the pipeline's config.json): ModelNotFoundError when missing."""
    return dict(_registry_call(lambda: mlflow.artifacts.load_dict(f"runs:/{run_id}/{path}")))


MIN_SKILL_GAIN = 1e-4  # how much higher a new version's CV skill must be to take the alias


def champion(name: str) -> Any | None:
    """The version holding the champion alias, or None when the registry says there is none (no
    such model, or no alias yet). Any other registry error (a locked store, a server 503) is a
    RegistryUnavailableError: an unknown champion is not an absent one."""
    try:
        return _registry_call(MlflowClient().get_model_version_by_alias, name, CHAMPION)
    except ModelNotFoundError:
        return None


def register(model_uri: str, name: str, tags: dict[str, str]) -> Any:
    """Register a new version carrying `tags` (CV metrics, data range); returns it."""
    client = MlflowClient()
    try:
        client.create_registered_model(
            name, description="Stockcast LSTM forecasts; alias champion is served"
        )
    except MlflowException as err:
        if "already exists" not in str(err).lower() and "RESOURCE_ALREADY_EXISTS" not in str(err):
            raise
    with contextlib.redirect_stderr(io.StringIO()) as chatter:  # "... already exists", printed
        version = mlflow.register_model(model_uri, name, tags=tags)
    log.debug("%s", chatter.getvalue().strip())
    return version


def promote(name: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(name, CHAMPION, version)


def beats(skill: float, champion_skill: float) -> bool:
    """The champion rule: a new version replaces the champion only when its CV skill is higher by
    more than MIN_SKILL_GAIN, so an identical rerun (equal skill) never moves the alias."""
    return skill - champion_skill > MIN_SKILL_GAIN


def _skill(version: Any) -> float:
    return float(version.tags.get(SKILL_TAG, "-inf"))


def refreshes(skill: float, skill_stderr: float, champion_skill: float) -> bool:
    """The champion rule for a retrain of the champion's own configuration on its data plus
    newer days: the folds moved with the data, so the skills are close kin but not equals; the
    retrain replaces the champion unless its CV skill falls below the champion's by more than
    its own standard error over the folds."""
    return skill >= champion_skill - skill_stderr


def settle_champion(name: str, folds_signature: str) -> str | None:
    """Point the champion at the best version cross-validated on these folds, if the current
    champion is one of them and a better one exists (two pipelines that promoted at once
    converge). Returns the champion's version afterwards."""
    current = champion(name)
    if current is None or current.tags.get(FOLDS_TAG) != folds_signature:
        return None if current is None else str(current.version)
    same = [
        v
        for v in MlflowClient().search_model_versions(f"name='{name}'")
        if v.tags.get(FOLDS_TAG) == folds_signature and SKILL_TAG in v.tags
    ]
    best = max(same, key=lambda v: (_skill(v), -int(v.version)))
    if beats(_skill(best), _skill(current)):
        promote(name, str(best.version))
        return str(best.version)
    return str(current.version)


@dataclass(frozen=True)
class Decision:
    """What happened to the champion alias after registering `version`."""

    version: str
    promoted: bool
    message: str


def promote_or_keep(
    name: str,
    version: str,
    skill: float,
    folds_signature: str,
    *,
    force: bool = False,
    retrain_of: str | None = None,
    skill_stderr: float = 0.0,
) -> Decision:
    """Move the champion to `version` when forced, when there is none, or when `version` beats it
    (same data and folds only: other folds' skills do not compare), or, for a retrain of the
    champion `retrain_of` that still holds the alias, by `refreshes`; then settle with concurrent
    pipelines of the same folds."""
    current = champion(name)
    if force:
        decision = Decision(version, True, "promoted (--promote)")
    elif current is None:
        decision = Decision(version, True, "promoted (first champion)")
    elif retrain_of is not None and str(current.version) == retrain_of:
        best = _skill(current)
        kept = not refreshes(skill, skill_stderr, best)
        decision = Decision(
            version,
            not kept,
            f"{f'kept champion v{current.version}' if kept else 'promoted'}: the retrain's CV "
            f"skill {skill:+.4f} is {'more' if kept else 'no more'} than its standard error "
            f"{skill_stderr:.4f} below v{current.version}'s {best:+.4f}",
        )
    elif current.tags.get(FOLDS_TAG) != folds_signature:
        decision = Decision(
            version,
            False,
            f"kept champion v{current.version}: it was cross-validated on other data or folds, "
            "so the skills do not compare; use --promote to replace it",
        )
    else:
        best = _skill(current)
        verb = "beats" if beats(skill, best) else "does not beat"
        decision = Decision(
            version,
            beats(skill, best),
            f"{'promoted' if beats(skill, best) else f'kept champion v{current.version}'}: "
            f"CV skill {skill:+.4f} {verb} champion v{current.version}'s {best:+.4f} "
            f"by more than {MIN_SKILL_GAIN:g}",
        )
    if decision.promoted:
        promote(name, version)
    if force:
        return decision
    # another pipeline for this ticker may have decided at the same moment: whatever the order,
    # both end on the best version of these folds
    settled = settle_champion(name, folds_signature)
    if settled is not None and settled != version and decision.promoted:
        return Decision(
            version, False, f"kept champion v{settled}: a concurrent run registered a better one"
        )
    return decision
