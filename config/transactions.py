"""Transaction helpers for services."""

from functools import wraps

from django.db import transaction

from config.errors import ServiceError


def durable_then_raise(fn):
    """Run `fn` as an outermost transaction. If it *returns* a ServiceError, the transaction
    commits first and the error is raised after: for refusals that must leave a trace,
    such as a counted wrong guess of an email code."""
    atomic_fn = transaction.atomic(durable=True)(fn)

    @wraps(fn)
    def wrapper(*args, **kwargs):
        result = atomic_fn(*args, **kwargs)
        if isinstance(result, ServiceError):
            raise result
        return result

    return wrapper
