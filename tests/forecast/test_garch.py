import numpy as np
import pytest

from forecast.garch import Garch


def simulated_prices(days=3000, omega=2e-6, alpha=0.08, beta=0.9, nu=6.0, seed=0):
    """Prices whose daily log returns follow a GARCH(1,1) with Student-t errors."""
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(nu, days) * np.sqrt((nu - 2) / nu)  # unit variance
    variance, returns = omega / (1 - alpha - beta), np.empty(days)
    for day in range(days):
        returns[day] = np.sqrt(variance) * shocks[day]
        variance = omega + alpha * returns[day] ** 2 + beta * variance
    return 100 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))


def test_a_fit_recovers_the_parameters_of_a_simulated_garch():
    fitted = Garch.fit(simulated_prices())
    assert fitted.alpha == pytest.approx(0.08, abs=0.03)
    assert fitted.beta == pytest.approx(0.9, abs=0.04)
    assert fitted.long_run == pytest.approx(2e-6 / 0.02, rel=0.35)
    assert 3 < fitted.nu < 12


def test_a_scale_reads_no_price_after_its_origin():
    prices = simulated_prices(1200)
    garch = Garch.fit(prices[:1000])
    origins = np.arange(1000, 1100)
    windows = np.stack([prices[o - 70 : o] for o in origins])  # rows before each origin
    before = garch.scale(windows, 5)
    later = prices.copy()
    later[1050:] *= np.exp(np.random.default_rng(1).normal(0, 0.2, len(later) - 1050))
    after = garch.scale(np.stack([later[o - 70 : o] for o in origins]), 5)
    np.testing.assert_array_equal(before[:51], after[:51])  # origins up to 1050 saw no change
    assert not np.allclose(before[51:], after[51:])


def test_high_volatility_days_get_wider_scales_reverting_to_the_long_run():
    garch = Garch(omega=2e-6, alpha=0.08, beta=0.9, nu=6.0)
    calm = 100 * np.exp(np.cumsum(np.full(70, 0.001)))
    stormy = 100 * np.exp(np.cumsum(np.tile([0.04, -0.04], 35)))
    scale = garch.scale(np.stack([calm, stormy]), 10) / np.stack([calm, stormy])[:, -1:]
    assert (scale[1] > scale[0]).all()
    long_run = np.sqrt(garch.long_run)
    assert scale[0, 0] < scale[0, -1] < long_run and scale[1, 0] > scale[1, -1] > long_run


def test_parameters_round_trip_through_json_and_bad_ones_are_refused():
    garch = Garch(omega=2e-6, alpha=0.08, beta=0.9, nu=6.0)
    assert Garch.from_dict(garch.to_dict()) == garch
    with pytest.raises(ValueError, match=r"alpha \+ beta = 1.0200 must stay below 1"):
        Garch(omega=2e-6, alpha=0.12, beta=0.9, nu=6.0)
    with pytest.raises(ValueError, match=r"at least 2 positive prices; got \(1, 50\)"):
        Garch.fit(np.linspace(1, 2, 50)[None])
    short = Garch.fit(np.linspace(1, 2, 50))  # too few returns to see clustering
    assert short.alpha == short.beta == 0 and short.long_run > 0
