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
