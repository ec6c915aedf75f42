import pytest

from pipelines.prices import main


def test_prints_what_was_loaded(capsys, data_dir):
    assert main(["AAPL", "msft", "--source", "sample", "--start", "2012-01-01"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "AAPL: 291 days 2012-01-03 to 2013-03-01 from sample; last adj close 56.14"
    assert out[1].startswith("MSFT: 291 days")


def test_bad_ticker_is_exit_2(capsys, data_dir):
    with pytest.raises(SystemExit) as err:
        main(["../etc"])
    assert err.value.code == 2
    assert "ticker '../etc' is not a valid symbol" in capsys.readouterr().err


def test_no_data_is_exit_1_with_the_reason(capsys, data_dir):
    assert main(["NVDA"]) == 1
    assert "Yahoo Finance is unreachable" in capsys.readouterr().err


def test_csv(tmp_path, capsys, data_dir):
    path = tmp_path / "x.csv"
    path.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,1.5,10\n")
    assert main(["XYZ", "--csv", str(path)]) == 0
    assert "XYZ: 1 days 2024-01-02 to 2024-01-02 from csv" in capsys.readouterr().out
