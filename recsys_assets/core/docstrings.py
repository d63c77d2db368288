"""Parameter descriptions read from numpy-style docstrings, so a setting is documented once, next to its default."""

from __future__ import annotations

import inspect
import re

_ENTRY = re.compile(r"^(\w+(?:\s*,\s*\w+)*)\s*:")


def parameter_descriptions(obj: object) -> dict[str, str]:
    """Each parameter's description from the ``Parameters`` section of `obj`'s docstring.

    An entry ``a, b : float`` documents both `a` and `b`; its indented lines are joined into one sentence.
    Parameters without an entry are absent from the result.
    """
    lines = inspect.cleandoc(obj.__doc__ or "").splitlines()
    try:
        start = next(i for i, line in enumerate(lines[:-1]) if line == "Parameters" and set(lines[i + 1]) == {"-"})
    except StopIteration:
        return {}
    descriptions: dict[str, str] = {}
    names: list[str] = []
    for line in lines[start + 2 :]:
        if line.startswith((" ", "\t")):
            for name in names:
                descriptions[name] = f"{descriptions[name]} {line.strip()}".strip()
        elif match := _ENTRY.match(line):
            names = [name.strip() for name in match.group(1).split(",")]
            descriptions.update({name: "" for name in names})
        elif line.strip():  # the next section
            break
    return descriptions
