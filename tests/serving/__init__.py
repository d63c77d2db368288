"""serving tests."""
