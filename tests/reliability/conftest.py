# the tiny registered model and app helpers of the service tests
from tests.service.conftest import client, registry, settings_for, train, wait_ready  # noqa: F401
