"""A requests session that answers yfinance's calls from data instead of the network.

It serves the three kinds of request yfinance makes for daily history (the cookie host, the
crumb, and `/v8/finance/chart/<TICKER>`) in the shape of Yahoo's recorded chart responses, so
tests exercise the real yfinance parsing path with no network.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pandas as pd
import requests
from requests.adapters import BaseAdapter


def chart_json(ticker: str, prices: pd.DataFrame) -> dict:
    """Yahoo's chart response for daily rows of `prices` (unadjusted OHLC + adj_close)."""
    # daily bars are stamped at the 9:30 New York open
    stamps = prices.index.tz_localize("America/New_York") + pd.Timedelta(hours=9, minutes=30)
    return {
        "chart": {
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": ticker,
                        "exchangeName": "NMS",
                        "instrumentType": "EQUITY",
                        "gmtoffset": -18000,
                        "timezone": "EST",
                        "exchangeTimezoneName": "America/New_York",
                        "dataGranularity": "1d",
                        "range": "",
                        "priceHint": 2,
                        "firstTradeDate": int(stamps[0].timestamp()) if len(stamps) else 0,
                        "regularMarketTime": int(stamps[-1].timestamp()) if len(stamps) else 0,
                        "validRanges": ["1d", "5d", "1mo", "max"],
                    },
                    "timestamp": [int(s.timestamp()) for s in stamps],
                    "indicators": {
                        "quote": [
                            {c: prices[c].tolist() for c in ("open", "high", "low", "close")}
                            | {"volume": prices["volume"].astype("int64").tolist()}
                        ],
                        "adjclose": [{"adjclose": prices["adj_close"].tolist()}],
                    },
                }
            ],
            "error": None,
        }
    }


NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


class YahooReplay(BaseAdapter):
    """Serves chart data for known tickers, filtered by the period1/period2 query."""

    def __init__(self, prices: dict[str, pd.DataFrame]) -> None:
        super().__init__()
        self.prices = prices
        self.chart_requests: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []

    def send(self, request, **kwargs):  # noqa: ANN001 - requests' adapter signature
        url = urlparse(request.url)
        if "/finance/chart/" in url.path:
            ticker = url.path.rsplit("/", 1)[-1]
            query = parse_qs(url.query)
            first = pd.Timestamp(int(query.get("period1", ["0"])[0]), unit="s")
            last = pd.Timestamp(int(query.get("period2", ["4102444800"])[0]), unit="s")
            self.chart_requests.append((ticker, first, last))
            if ticker not in self.prices:
                return self._response(request, 404, NOT_FOUND)
            frame = self.prices[ticker]
            frame = frame[(frame.index >= first.normalize()) & (frame.index < last)]
            return self._response(request, 200, chart_json(ticker, frame))
        if "/finance/quoteSummary/" in url.path:
            ticker = url.path.rsplit("/", 1)[-1]
            return self._response(
                request,
                404,
                {
                    "quoteSummary": {
                        "result": None,
                        "error": {
                            "code": "Not Found",
                            "description": f"Quote not found for symbol: {ticker}",
                        },
                    }
                },
            )
        if "getcrumb" in url.path:
            return self._response(request, 200, "crumb-1", text=True)
        return self._response(request, 200, "", text=True)

    def close(self) -> None:
        pass

    @staticmethod
    def _response(request, status: int, body, text: bool = False) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = (body if text else json.dumps(body)).encode()
        response.headers["Content-Type"] = "text/plain" if text else "application/json"
        response.url = request.url
        response.request = request
        return response


def replay_session(prices: dict[str, pd.DataFrame]) -> tuple[requests.Session, YahooReplay]:
    session = requests.Session()
    adapter = YahooReplay(prices)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter
