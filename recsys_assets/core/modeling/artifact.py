"""The artifact the `als_model` asset stores: the selected model, scored and serving, with its selection."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .selection import SelectionResult
from .training import TrainedModel


@dataclass
class ModelArtifact:
    """What the `als_model` asset stores: the selected model scored on the hold-out and the one that serves.

    `serving` is refitted on all interactions (hold-out days included) with the same settings, so the lists
    customers get know the most recent orders; it is `evaluation` when refitting is switched off.
    """

    version: str
    data_version: str
    evaluation: TrainedModel
    serving: TrainedModel
    selection: SelectionResult | None = None  # every candidate's validation scores (None: no selection ran)
    window_start: pd.Timestamp | None = None  # the first order of the interactions `serving` learned from
