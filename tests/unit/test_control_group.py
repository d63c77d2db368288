"""The control group: a stable, salted share of customers."""

import pytest

from recsys_assets.core.lifecycle.control_group import ControlGroup, assignment_value

CUSTOMERS = [f"C{i:06d}" for i in range(20_000)]


def test_assignment_is_a_pure_function_of_id_and_salt():
    group = ControlGroup(0.1, "salt-a")
    first = [group.group_of(c) for c in CUSTOMERS[:500]]
    assert first == [ControlGroup(0.1, "salt-a").group_of(c) for c in CUSTOMERS[:500]]  # a "restart"
    # the documented rule, by hand: sha256("salt:id")[:8] / 2**64 < share
    import hashlib

    by_hand = int.from_bytes(hashlib.sha256(b"salt-a:C000007").digest()[:8], "big") / 2**64
    assert assignment_value("C000007", "salt-a") == by_hand
    assert group.group_of("C000007") == ("control" if by_hand < 0.1 else "model")


def test_share_is_met_and_growing_it_keeps_the_members():
    small = {c for c in CUSTOMERS if ControlGroup(0.05, "s").group_of(c) == "control"}
    large = {c for c in CUSTOMERS if ControlGroup(0.2, "s").group_of(c) == "control"}
    assert abs(len(small) / len(CUSTOMERS) - 0.05) < 0.01
    assert abs(len(large) / len(CUSTOMERS) - 0.2) < 0.015
    assert small <= large
    other_salt = {c for c in CUSTOMERS if ControlGroup(0.05, "t").group_of(c) == "control"}
    assert len(small & other_salt) < 0.2 * len(small)  # a new salt draws an independent group


def test_no_share_means_no_control_and_bad_settings_are_refused():
    assert {ControlGroup(0.0).group_of(c) for c in CUSTOMERS[:1000]} == {"model"}
    with pytest.raises(ValueError, match="share"):
        ControlGroup(0.7)
    with pytest.raises(ValueError, match="salt"):
        ControlGroup(0.1, "")
