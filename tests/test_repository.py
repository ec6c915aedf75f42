import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)
def test_what_the_embedded_mlflow_store_writes_is_ignored_by_git():
    # the files `python -m pipelines.train` leaves in the folder it runs in
    written = ["mlflow.db", "mlflow.db.lock", "mlartifacts/1/abc/artifacts/x", "mlruns/1/x"]
    result = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "--no-index", *written],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == written, result.stderr


def _declared_distributions() -> set[str]:
    """Every distribution pyproject.toml asks for: dependencies and optional extras."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    return {_normalized(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in wanted}


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _imported_top_level_modules() -> dict[str, str]:
    """Top-level module -> a file of the product (forecast, pipelines, service) importing it,
    at module level or inside a function."""
    import ast

    found: dict[str, str] = {}
    for package in ("forecast", "pipelines", "service"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_of_the_product_is_a_declared_dependency():
    import importlib.metadata
    import sys

    ours = {"forecast", "pipelines", "service"}
    providers = importlib.metadata.packages_distributions()
    declared = _declared_distributions()
    missing = {}
    for module, where in _imported_top_level_modules().items():
        if module in ours or module in sys.stdlib_module_names:
            continue
        distributions = {_normalized(d) for d in providers.get(module, [module])}
        if not distributions & declared:
            missing[module] = (sorted(distributions), where)
    assert not missing, (
        f"imported but not in pyproject.toml (module: distributions, file): {missing}"
    )


def _loaded_by(module: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules under `prefixes` that importing `module` loads (in a fresh interpreter)."""
    import sys

    code = (
        f"import sys, {module}\nprint(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return eval(out.stdout)  # a printed list of module names


def test_the_forecaster_and_parallel_load_nothing_from_evaluation():
    """The import graph has no upward arrow: a model is served without evaluation/ or
    parallel/, and fits run without evaluation/."""
    assert _loaded_by("forecast.forecaster", ("forecast.evaluation", "forecast.parallel")) == []
    assert _loaded_by("forecast.parallel.scheduler", ("forecast.evaluation",)) == []
    assert _loaded_by("forecast.evaluation.cv", ("forecast.parallel",)) == []
    assert (
        _loaded_by("service.app", ("forecast.evaluation", "forecast.parallel", "pipelines")) == []
    )


def test_no_cli_imports_another_clis_private_names():
    import ast

    for path in sorted((ROOT / "pipelines").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipelines"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def _without(modules: tuple[str, ...], folder: Path) -> dict[str, str]:
    """An environment in which importing any of `modules` fails, as where it is not installed:
    a package of that name first on the path raises ImportError."""
    import os

    for name in modules:
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text(f"raise ImportError('{name} is not here')\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}


def test_the_peers_benchmark_names_the_extra_when_a_peer_is_missing(tmp_path):
    import sys

    env = _without(("darts",), tmp_path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "peers.py"), "--rounds", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "darts (darts is not here)" in done.stderr
    assert 'install the `peers` extra: pip install -e ".[peers]"' in done.stderr


def test_the_training_path_imports_without_mlflow_or_fastapi(tmp_path):
    """A GPU machine may have torch, numpy, pandas and scikit-learn and nothing else we serve
    or track with: training and benchmarks/train_speed.py's imports need neither."""
    import sys

    code = (
        "import forecast.models.training, forecast.fitting, forecast.prep.windowing\n"
        "from forecast.models.device import resolve_device\n"
    )
    env = _without(("mlflow", "fastapi"), tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
