import logging

from service.observability import OncePerInterval


def record(message, level=logging.WARNING):
    return logging.LogRecord("forecast.data.loader", level, __file__, 1, message, None, None)


def test_once_per_interval_per_message_with_a_clock_we_move():
    now = [100.0]
    quiet = OncePerInterval(60, clock=lambda: now[0])
    assert quiet.filter(record("AAPL offline"))
    assert not quiet.filter(record("AAPL offline"))
    assert quiet.filter(record("MSFT offline"))  # another ticker, another message
    assert quiet.filter(record("AAPL offline", logging.INFO))  # only warnings are thinned
    now[0] += 59.9
    assert not quiet.filter(record("AAPL offline"))
    now[0] += 0.2
    assert quiet.filter(record("AAPL offline"))
