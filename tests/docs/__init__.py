"""Tests of the docs site: the strict build and the screenshots it shows."""
