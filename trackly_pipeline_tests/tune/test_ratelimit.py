import pytest

from trackly_pipeline.tune import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_calls_within_the_limit_do_not_wait():
    clock = FakeClock()
    limiter = RateLimiter(5, 1.0, clock=clock, sleep=clock.sleep, margin=0)
    assert [limiter.acquire() for _ in range(5)] == [0.0] * 5
    assert clock.sleeps == []


def test_the_next_call_waits_until_the_oldest_leaves_the_window():
    clock = FakeClock()
    limiter = RateLimiter(3, 10.0, clock=clock, sleep=clock.sleep, margin=0)
    for step in (0.0, 2.0, 3.0):
        clock.now += step
        limiter.acquire()
    # calls at t=1000, 1002, 1005; the 4th may start at 1010
    assert limiter.acquire() == pytest.approx(5.0)
    assert clock.now == pytest.approx(1010.0)


def test_never_more_than_n_calls_in_any_window():
    clock = FakeClock()
    limiter = RateLimiter(4, 1.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(40):
        limiter.acquire()
        starts.append(clock.now)
        clock.now += 0.01
    for i, t in enumerate(starts):
        assert sum(1 for s in starts[i:] if s - t < 1.0) <= 4


def test_default_margin_stretches_the_window_for_latency_jitter():
    clock = FakeClock()
    limiter = RateLimiter(1, 10.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(10.5)


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError):
        RateLimiter(0, 1.0)
    with pytest.raises(ValueError):
        RateLimiter(1, 0)
