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
