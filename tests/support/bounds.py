"""Running one call on hostile input while measuring it: the robustness tests bound the time
and the memory every outcome may take."""

import time
import tracemalloc

from minivae.errors import MinivaeError


def measured(call, *args):
    """(what call(*args) returned or the MinivaeError it raised, seconds, peak bytes allocated)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = call(*args)
    except MinivaeError as err:
        outcome = err
    finally:  # anything else fails the test, and must not leave memory traced
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return outcome, seconds, peak
