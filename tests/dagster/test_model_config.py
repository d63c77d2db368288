"""The run config of `als_model`: nested groups derived from the core dataclasses, their defaults the core's."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from dagster import DagsterInvalidConfigError, validate_run_config

from recsys_assets.assets.dataclass_config import dataclass_config
from recsys_assets.assets.modeling import ModelConfig
from recsys_assets.cli.local_run import local_job
from recsys_assets.core.modeling.candidates import GridSpec, TrainingConfig, candidate_grid
from recsys_assets.core.modeling.models import ALSParams
from recsys_assets.core.modeling.selection import SelectionSettings

# fields of the core dataclasses set elsewhere in the run config (see ModelConfig), or not configurable
SET_ELSEWHERE = {
    "als": set(),
    "training": {"model", "als", "knn", "bpr"},
    "grid": {"bm25_k1", "bm25_b", "half_life_days", "random_state"},
    "selection": {"seed"},
}
CORE = {"als": ALSParams, "training": TrainingConfig, "grid": GridSpec, "selection": SelectionSettings}


def test_defaults_are_the_core_defaults():
    config = ModelConfig()
    assert config.select_model and config.refit_on_all_data
    assert config.training_config() == TrainingConfig()
    assert config.candidate_grid() == candidate_grid(GridSpec())
    # the selection's seed is the models' seed, as before the groups
    assert config.selection_settings() == SelectionSettings(seed=ALSParams().random_state)


@pytest.mark.parametrize("group", sorted(CORE))
def test_every_core_field_is_configurable_once_and_described(group):
    fields = ModelConfig.model_fields[group].annotation.model_fields
    core_fields = {field.name for field in dataclasses.fields(CORE[group])}
    assert set(fields) == core_fields - SET_ELSEWHERE[group]
    undescribed = [name for name, field in fields.items() if not field.description]
    assert not undescribed, f"{CORE[group].__name__}: document {undescribed} in its docstring's Parameters"


def test_the_config_pickles_like_a_written_class():
    config = ModelConfig(grid={"bpr_factors": []})
    assert pickle.loads(pickle.dumps(config)) == config


def test_shared_settings_reach_the_grid_and_the_selection():
    config = ModelConfig(
        als={"random_state": 7, "factors": 4},
        training={"half_life_days": 30.0, "bm25_k1": 5.0},
        grid={"als_factors": [8, 16], "knn_similarities": [], "bpr_factors": []},
        selection={"strategy": "global_time", "k": 5},
    )
    assert config.training_config().als == ALSParams(factors=4, random_state=7)
    grid = config.candidate_grid()
    assert [c.als.factors for c in grid] == [8, 8, 16, 16]
    assert {(c.half_life_days, c.bm25_k1, c.als.random_state) for c in grid} == {(30.0, 5.0, 7)}
    assert config.selection_settings() == SelectionSettings(strategy="global_time", k=5, seed=7)


def test_a_new_dataclass_field_needs_no_config_edit():
    @dataclasses.dataclass(frozen=True)
    class Params:
        """Example.

        Parameters
        ----------
        sizes : tuple of int
            Sizes tried.
        rate, decay : float
            Step and its decay.
        """

        sizes: tuple[int, ...] = (1, 2)
        rate: float = 0.5
        decay: float = 0.9

    config = dataclass_config(Params, "ParamsConfig", __name__)
    assert config.model_fields["decay"].description == "Step and its decay."
    assert config().to_core() == Params()
    assert config(sizes=[3], decay=0.1).to_core() == Params(sizes=(3,), decay=0.1)


def test_an_old_flat_config_is_refused_naming_the_unknown_fields():
    job = local_job("local_downstream", "local")
    nested = {"select_model": False, "als": {"factors": 1}, "grid": {"bpr_factors": []}}
    assert validate_run_config(job, {"ops": {"als_model": {"config": nested}}})
    flat = {"select_model": False, "factors": 1, "validation_strategy": "auto"}
    with pytest.raises(DagsterInvalidConfigError, match=r"unexpected config entries.*factors.*validation_strategy"):
        validate_run_config(job, {"ops": {"als_model": {"config": flat}}})
