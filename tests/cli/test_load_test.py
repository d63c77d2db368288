"""The load test refuses anything but loopback addresses."""

from __future__ import annotations

import pytest

from recsys_assets.cli.load_test import NotLoopbackError, check_loopback


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/", "http://localhost:1", "http://127.9.9.9", "http://[::1]:80"])
def test_loopback_urls_are_accepted(url):
    assert check_loopback(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3", "http://[2001:db8::1]", "http://localhost.example.com", "127.0.0.1"]
)
def test_other_urls_are_refused(url):
    with pytest.raises(NotLoopbackError):
        check_loopback(url)
