"""What fault injection found, pinned without needing a database restart."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from cybervault.kit.errors import InternalError, ServiceUnavailable
from cybervault.kit.gateway import _internal_error_for


class _AsyncpgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("the database system is starting up")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["57P03", "57P01", "08006", "08001"])
def test_database_starting_up_or_shutting_down_is_503(sqlstate: str) -> None:
    # Found restarting PostgreSQL under traffic: asyncpg's CannotConnectNowError (57P03) reached clients
    # as 500 internal_error instead of 503 service_unavailable.
    error = DBAPIError("SELECT 1", {}, _AsyncpgError(sqlstate))
    assert isinstance(_internal_error_for(error), ServiceUnavailable)


def test_other_database_errors_stay_500() -> None:
    assert isinstance(_internal_error_for(DBAPIError("SELECT 1", {}, _AsyncpgError("23505"))), InternalError)
