"""docker-compose.yml against the Compose specification and against the project's own settings.

No Docker engine runs here, so the file is interpolated like `docker compose` does (${VAR},
${VAR:-default}, ${VAR:?error}, $$) with .env.example's values and validated with compose-spec.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

from service.config import Settings
from service.launch import api_command

ROOT = Path(__file__).parents[2]
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = env.get(name, "")
        if op == ":-" and not value:
            return arg
        if op == ":?" and not value:
            raise ValueError(f"{name} is required: {arg}")
        if name not in env and op is None:
            raise ValueError(f"${{{name}}} has no value in .env.example and no default")
        return value

    return _VARIABLE.sub(replace, text)


@pytest.fixture(scope="module")
def compose() -> dict:
    from compose_spec import PyCompose

    text = interpolate((ROOT / "docker-compose.yml").read_text(), env_example())
    data = yaml.safe_load(text)  # resolves the YAML merge keys (<<) as docker compose does
    PyCompose.from_json(json.dumps(data))  # raises ValueError naming the path of anything off-spec
    return data


def test_compose_file_follows_the_compose_specification(compose):
    assert set(compose["services"]) == {
        "postgres",
        "ledger-db",
        "mlflow",
        "api",
        "trainer",
        "retrainer",
    }
    assert set(compose["volumes"]) == {"postgres-data", "mlflow-artifacts", "price-cache"}


def test_an_off_spec_file_is_caught():
    from compose_spec import PyCompose

    with pytest.raises(ValueError, match="services.api: extension key `imagee`"):
        PyCompose.from_yaml("services:\n  api:\n    imagee: stockcast\n")


def test_every_variable_is_documented_in_env_example():
    used = {
        m.group("name")
        for m in _VARIABLE.finditer((ROOT / "docker-compose.yml").read_text())
        if m.group("name")
    }
    assert used <= set(env_example()), used - set(env_example())
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD is required"):
        interpolate(
            (ROOT / "docker-compose.yml").read_text(), env_example() | {"POSTGRES_PASSWORD": ""}
        )


def test_no_secret_is_committed():
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert (
        env_example()["STOCKCAST_API_KEY"] == ""
        and env_example()["POSTGRES_PASSWORD"] == "change-me"
    )


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_postgres_keeps_data_in_a_named_volume_and_checks_health(compose):
    postgres = compose["services"]["postgres"]
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_mlflow_server_uses_postgres_and_serves_artifacts(compose):
    mlflow = compose["services"]["mlflow"]
    command = mlflow["command"]
    assert command[:2] == ["mlflow", "server"] and "--serve-artifacts" in command
    backend = _option(command, "--backend-store-uri")
    assert backend.startswith("postgresql://") and "@postgres:5432/" in backend
    port = _option(command, "--port")
    assert mlflow["ports"][0].endswith(f":{port}")
    assert f"localhost:{port}/health" in " ".join(mlflow["healthcheck"]["test"])
    assert "mlflow-artifacts:" + _option(command, "--artifacts-destination") in mlflow["volumes"]
    assert mlflow["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_api_command_ports_env_and_health_agree_with_the_service(compose):
    api = compose["services"]["api"]
    command = api["command"]
    port = _option(command, "--port")
    assert command == api_command(int(port), "0.0.0.0")  # the one launch command
    host_ip, _, container_port = api["ports"][0].rpartition(":")
    assert container_port == port and host_ip.startswith("127.0.0.1")
    assert f"localhost:{port}/ready" in " ".join(api["healthcheck"]["test"])
    known = {f"STOCKCAST_{name.upper()}" for name in Settings.model_fields}
    assert set(api["environment"]) <= known, set(api["environment"]) - known
    mlflow_port = _option(compose["services"]["mlflow"]["command"], "--port")
    assert api["environment"]["STOCKCAST_TRACKING_URI"] == f"http://mlflow:{mlflow_port}"
    assert api["depends_on"]["mlflow"]["condition"] == "service_healthy"
    Settings(
        **{k.removeprefix("STOCKCAST_").lower(): v for k, v in api["environment"].items() if v}
    )


def test_trainer_runs_the_pipeline_against_the_server_under_a_profile(compose):
    trainer = compose["services"]["trainer"]
    assert trainer["profiles"] == ["train"]
    assert trainer["entrypoint"] == ["python", "-m", "pipelines.train"]
    mlflow_port = _option(compose["services"]["mlflow"]["command"], "--port")
    assert trainer["environment"]["MLFLOW_TRACKING_URI"] == f"http://mlflow:{mlflow_port}"


def test_dockerfile_runs_as_a_user_and_exposes_the_api_port(compose):
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    api_port = _option(compose["services"]["api"]["command"], "--port")
    assert f"EXPOSE {api_port}" in lines
    cmd = next(line for line in lines if line.startswith("CMD "))
    assert json.loads(cmd.removeprefix("CMD ")) == api_command(int(api_port), "0.0.0.0")
    assert any("ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" == line for line in lines)


def test_the_ledger_has_its_own_database_and_a_daily_retrain_runs(compose):
    services = compose["services"]
    ledger = services["api"]["environment"]["STOCKCAST_LEDGER_URI"]
    assert ledger.startswith("postgresql://") and ledger.endswith("@postgres:5432/ledger")
    assert "CREATE DATABASE ledger" in services["ledger-db"]["command"][-1]
    assert services["api"]["depends_on"]["ledger-db"] == {
        "condition": "service_completed_successfully"
    }
    retrainer = services["retrainer"]
    assert "python -m pipelines.retrain --min-new-days 20" in retrainer["command"][0]
    assert "sleep" in retrainer["command"][0]  # once a day, not in a tight loop
    assert retrainer["environment"]["STOCKCAST_LEDGER_URI"] == ledger
    assert retrainer["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
