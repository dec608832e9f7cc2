"""The sandbox tests use the same registry fixtures as the compliance tests."""

from tests.compliance.conftest import (  # noqa: F401 - fixtures
    bca_sandbox,
    cecv_sandbox,
    inps_sandbox,
    registry_tokens,
    revenue_sandbox,
    sandbox_faults,
    sandbox_servers,
)
