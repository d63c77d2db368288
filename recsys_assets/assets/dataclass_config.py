"""Run-config classes derived from the core dataclasses: their fields, defaults and descriptions have one source.

`dataclass_config(SomeParams)` is a Dagster `Config` with one field per field of `SomeParams` (tuples become lists,
nested dataclasses are left out), its default, and the description from the dataclass's numpy docstring (the
Launchpad shows it). `to_core()` builds the dataclass back, field by field by name. A field added to the dataclass
therefore appears in the run config with no edit here.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from typing import Any, ClassVar

from dagster import Config
from pydantic import Field, create_model

from ..core.docstrings import parameter_descriptions


class DataclassConfig(Config):
    """A run-config group mirroring a core dataclass (`core`); see `dataclass_config`."""

    core: ClassVar[type]

    def to_core(self, **shared: Any):
        """The core dataclass from this group's values, plus the `shared` values set in another group."""
        hints = typing.get_type_hints(self.core)
        values = {
            name: tuple(value) if typing.get_origin(hints[name]) is tuple else value
            for name, value in self.model_dump().items()
        }
        return self.core(**values, **shared)


def _config_type(hint: Any) -> Any:
    """tuple[X, ...] (frozen dataclasses) as list[X] (Dagster's config array); other types as they are."""
    if typing.get_origin(hint) is tuple:
        return list[typing.get_args(hint)[0]]
    return hint


def dataclass_config(core: type, name: str, module: str, exclude: Iterable[str] = ()) -> type[DataclassConfig]:
    """A `DataclassConfig` named `name` with the fields of dataclass `core` except `exclude` and nested dataclasses
    (their own group configures them). Assign it to `name` in `module` (the caller's `__name__`): it then pickles
    like a class written there."""
    hints = typing.get_type_hints(core)
    descriptions = parameter_descriptions(core)
    fields = {}
    for field in dataclasses.fields(core):
        if field.name in exclude or dataclasses.is_dataclass(hints[field.name]):
            continue
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        default = list(default) if isinstance(default, tuple) else default
        description = descriptions[field.name].replace("``", "") if field.name in descriptions else None  # no RST
        fields[field.name] = (_config_type(hints[field.name]), Field(default, description=description))
    config = create_model(
        name, __base__=DataclassConfig, __module__=module, __doc__=(core.__doc__ or "").split("\n")[0], **fields
    )
    config.core = core
    return config
