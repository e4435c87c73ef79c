"""Real concurrency for tests: threads with their own database connections, started together."""

import threading

from django.db import connection


def run_in_parallel(count: int, work) -> list:
    """Run work(index) in `count` threads that start together (a barrier); return each
    result, or the exception it raised, by index. Each thread closes its own connection."""
    barrier = threading.Barrier(count, timeout=30)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever happened
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results
