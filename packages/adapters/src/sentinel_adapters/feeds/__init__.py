"""Threat-intel feed sources: the FeedFetcher port over HTTP(S)."""

from sentinel_adapters.feeds.http_fetcher import HttpFeedFetcher

__all__ = ["HttpFeedFetcher"]
