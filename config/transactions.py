"""Transaction helpers for services: how a refusal says whether it commits.

A service refuses by raising a ServiceError, and a raise rolls its transaction back: nothing
it wrote stays. A few refusals must leave a trace first (a counted wrong guess of an email
code, a scan attempt's row, an overdue room ended): such a service is declared
`@durable_with_committed_refusals` and refuses with `commit_then_refuse(error)`, which keeps
what the transaction wrote, commits it, and raises `error` after the commit. A service
returns only results; returning an error is a bug (TypeError), so every call site reads as
what it does: `raise X` rolls back, `commit_then_refuse(X)` commits.

The hot path's services are one SQL statement each, run in autocommit (no BEGIN/COMMIT round
trips): what the statement wrote is committed when it returns, refusals included (an expired
invite marked expired, an overdue room ended). Those are declared
`@autocommit_with_committed_refusals`, and say so where they refuse the same way,
`commit_then_refuse(X)`; calling one inside a caller's transaction is refused (RuntimeError), since
there the refusal would roll back what it should commit."""

from functools import wraps
from typing import NoReturn

from django.db import transaction

from config.errors import ServiceError


class _CommittedRefusal(Exception):
    """Carries a refusal out of the transaction, which is committed on the way (see below)."""

    def __init__(self, error: ServiceError):
        super().__init__(error)
        self.error = error


def commit_then_refuse(error: ServiceError) -> NoReturn:
    """Refuse with `error` after committing what this transaction has written so far. Only
    inside a `@durable_with_committed_refusals` service (and not inside a nested atomic block:
    leaving one by an exception rolls its savepoint back) or an
    `@autocommit_with_committed_refusals` one (where it is committed already)."""
    raise _CommittedRefusal(error)


def _inside_a_transaction(connection) -> bool:
    """In an atomic block other than a test case's own (as Django's durable=True decides)."""
    return bool(connection.atomic_blocks) and not connection.atomic_blocks[-1]._from_testcase


def autocommit_with_committed_refusals(fn):
    """Run `fn`, whose statements each commit in autocommit, outside any transaction (else a
    RuntimeError): `commit_then_refuse(error)` raises `error`, everything written before it
    being committed already; `raise error` is for refusals that wrote nothing."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        if _inside_a_transaction(transaction.get_connection()):
            raise RuntimeError(f"{fn.__qualname__} commits its refusals: call it outside any transaction")
        try:
            result = fn(*args, **kwargs)
        except _CommittedRefusal as committed:
            raise committed.error from None
        if isinstance(result, ServiceError):
            raise TypeError(f"{fn.__qualname__} returned {result!r}: raise it, or commit_then_refuse(it)")
        return result

    return wrapper


def durable_with_committed_refusals(fn):
    """Run `fn` as an outermost transaction in which `commit_then_refuse(error)` commits the
    work done so far and then raises `error`; any other exception rolls back, as always."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        refusal = None
        with transaction.atomic(durable=True):
            try:
                result = fn(*args, **kwargs)
            except _CommittedRefusal as committed:
                if transaction.get_connection().needs_rollback:  # it left a nested atomic block
                    raise RuntimeError("commit_then_refuse inside a nested atomic block would roll back") from None
                refusal = committed.error
        if refusal is not None:
            raise refusal
        if isinstance(result, ServiceError):
            raise TypeError(f"{fn.__qualname__} returned {result!r}: raise it, or commit_then_refuse(it)")
        return result

    return wrapper
