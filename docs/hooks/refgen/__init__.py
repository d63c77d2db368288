"""Reference pages rendered from the code: one module per page, each with a `render()` returning Markdown."""
