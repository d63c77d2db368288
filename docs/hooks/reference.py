"""MkDocs hook: reference pages generated from the code when the site is built (filled in by the reference work)."""
