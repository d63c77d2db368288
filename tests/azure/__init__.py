"""azure tests."""
