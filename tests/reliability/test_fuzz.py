"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis + hypothesis).

Every operation gets up to 1,000 generated requests (500 valid, 500 invalid "negative" ones)
against the app with a tiny registered model loaded. Checks: no 5xx, and every documented
response matches its schema and content type. The counts are printed for docs/reliability.md.
"""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from forecast import tracking
from service.app import create_app

from .conftest import settings_for

pytestmark = pytest.mark.slow
PER_MODE = 500  # x 2 modes = 1,000 per operation
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def fuzz_schema(registry):
    app = create_app(settings_for(registry))
    tracking.use_tracking_uri(app.state.settings.tracking_uri)
    app.state.store.get("AAPL")  # warm, as after startup
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def fuzz(operation, mode, sent: Counter, statuses: Counter) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def run(case):
        response = case.call()
        sent[label] += 1
        statuses[(label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # e.g. no invalid request exists for an operation without inputs
        pass


def test_api_survives_generated_requests(fuzz_schema, capsys):
    sent: Counter = Counter()
    statuses: Counter = Counter()
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, sent, statuses)
    with capsys.disabled():
        for label in sorted(sent):
            codes = {code: n for (op, code), n in sorted(statuses.items()) if op == label}
            print(f"\nfuzzed {label}: {sent[label]} requests, statuses {codes}")  # noqa: T201
    assert not [code for (_, code) in statuses if code >= 500]
    assert sent["POST /forecast"] >= 2 * PER_MODE and sent["POST /forecast/batch"] >= 2 * PER_MODE
