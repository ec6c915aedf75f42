import numpy as np
import pytest

from forecast.evaluation.splits import walk_forward_splits


def test_expanding_folds_follow_their_training_rows():
    folds = list(walk_forward_splits(100, 3, 10, gap=2))
    assert [(f.train_start, f.train_end, f.test_start, f.test_end) for f in folds] == [
        (0, 68, 70, 80),
        (0, 78, 80, 90),
        (0, 88, 90, 100),
    ]
    assert all(f.gap == 2 for f in folds)


def test_sliding_folds_keep_a_fixed_training_size():
    folds = list(walk_forward_splits(100, 2, 10, mode="sliding", train_size=30, gap=1))
    assert [(f.train_start, f.train_end, f.test_start, f.test_end) for f in folds] == [
        (49, 79, 80, 90),
        (59, 89, 90, 100),
    ]


def test_too_short_series_says_the_numbers():
    with pytest.raises(
        ValueError,
        match=r"n_folds=5 x test_size=30 with gap=4 and at least 65 training rows need 219 rows; got 200",
    ):
        list(walk_forward_splits(200, 5, 30, gap=4, min_train_rows=65))


def test_sliding_needs_train_size():
    with pytest.raises(
        ValueError, match="mode='sliding' needs train_size >= 10 rows; got train_size=None"
    ):
        list(walk_forward_splits(100, 2, 10, mode="sliding", min_train_rows=10))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"n_folds": 0}, "n_folds must be >= 1; got 0"),
        ({"test_size": 0}, "test_size must be >= 1; got 0"),
        ({"gap": -1}, "gap must be >= 0; got -1"),
        ({"mode": "rolling"}, "mode='rolling' is not one of expanding, sliding"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"n_folds": 2, "test_size": 10} | kwargs
    with pytest.raises(ValueError) as err:
        list(walk_forward_splits(100, args.pop("n_folds"), args.pop("test_size"), **args))
    assert str(err.value) == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_rows": 3270, "n_folds": 5, "test_size": 250, "gap": 0},
        {"n_rows": 3270, "n_folds": 5, "test_size": 250, "gap": 4},
        {
            "n_rows": 500,
            "n_folds": 3,
            "test_size": 40,
            "gap": 2,
            "mode": "sliding",
            "train_size": 90,
        },
    ],
)
def test_the_folds_are_scikit_learns_time_series_splits(kwargs):
    from sklearn.model_selection import TimeSeriesSplit

    n_rows = kwargs.pop("n_rows")
    folds = list(
        walk_forward_splits(n_rows, kwargs.pop("n_folds"), kwargs.pop("test_size"), **kwargs)
    )
    sliding = kwargs.get("mode") == "sliding"
    splitter = TimeSeriesSplit(
        n_splits=len(folds),
        test_size=folds[0].test_end - folds[0].test_start,
        gap=kwargs["gap"],
        max_train_size=kwargs.get("train_size") if sliding else None,
    )
    for fold, (train, test) in zip(folds, splitter.split(np.arange(n_rows)), strict=True):
        np.testing.assert_array_equal(np.arange(fold.train_start, fold.train_end), train)
        np.testing.assert_array_equal(np.arange(fold.test_start, fold.test_end), test)
    assert [f.number for f in folds] == list(range(1, len(folds) + 1))


@pytest.mark.parametrize("mode", ["expanding", "sliding"])
def test_one_fold_is_the_last_of_scikit_learns_splits(mode):
    """TimeSeriesSplit needs two splits or more: one fold is the last of two."""
    (one,) = walk_forward_splits(300, 1, 40, gap=3, mode=mode, train_size=100)
    last = list(walk_forward_splits(300, 2, 40, gap=3, mode=mode, train_size=100))[-1]
    assert (one.index, one.train_start, one.train_end, one.test_start, one.test_end) == (
        0,
        last.train_start,
        last.train_end,
        last.test_start,
        last.test_end,
    )
