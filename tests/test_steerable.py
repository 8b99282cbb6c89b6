"""Steering without Keras: a framework supplies read/set/record and provinstr.capture.steerable does the rest."""

from __future__ import annotations

import provinstr
from provinstr.analysis import facts
from provinstr.capture import steering
from provinstr.capture.activity import Activity
from provinstr.capture.adaptation import record_adaptation
from provinstr.capture.steerable import apply_pending


class Optimizer:
    """The fake framework's optimizer: plain attributes, which its fit reads at every step."""

    def __init__(self) -> None:
        self.learning_rate = 0.1
        self.momentum = 0.9


class FakeSteering:
    """All a second framework writes for steering: read, set and record a value of its fit."""

    def __init__(self, optimizer: Optimizer, training: Activity) -> None:
        self.optimizer, self.training = optimizer, training

    def read(self, name):
        return getattr(self.optimizer, name)

    def set(self, name, value):
        if value < 0:
            raise ValueError(f"{name} must not be negative")
        setattr(self.optimizer, name, value)

    def record(self, name, old, new, epoch, trigger, agent):
        return record_adaptation(self.training, name, old, new, epoch, trigger, agent)


def test_a_framework_that_supplies_read_set_and_record_applies_a_steering_request(store_dir):
    optimizer = Optimizer()
    with provinstr.run(name="fake-fit", store=str(store_dir)) as run:
        training = Activity(run, "Training", label="fit").start()
        target = FakeSteering(optimizer, training)
        assert apply_pending(target, run, 0) == []  # nobody asked: nothing to do (and no steer folder)
        asked = steering.request(store_dir, run.id, {"learning_rate": 0.005}, agent="alice@lab")
        mixed = steering.request(store_dir, run.id, {"momentum": -1, "units": 3, "learning_rate": 0.005},
                                 agent="bob@lab")
        outcomes = apply_pending(target, run, 3)
        assert apply_pending(target, run, 4) == []  # each request is handled once
        training.end()

    assert optimizer.learning_rate == 0.005 and optimizer.momentum == 0.9
    assert [o["status"] for o in outcomes] == [steering.APPLIED, steering.APPLIED]
    done = steering.read(asked)
    assert done["status"] == steering.APPLIED and done["epoch"] == 3
    assert done["applied"] == {"learning_rate": 0.005} and done["refused"] == {} and done["handled_at"]
    partly = steering.read(mixed)
    assert partly["status"] == steering.APPLIED and partly["applied"] == {"learning_rate": 0.005}
    assert partly["refused"]["momentum"] == "ValueError: momentum must not be negative"
    assert partly["refused"]["units"].startswith("units is not adjustable (adjustable: learning_rate, ")

    # Only the change is recorded: bob's learning rate was the one alice had set already.
    [adaptation] = facts.adaptations(provinstr.open_store(store_dir).run(run.id))
    assert (adaptation.epoch, adaptation.name, adaptation.trigger) == (3, "learning_rate", steering.TRIGGER)
    assert (adaptation.old, adaptation.new, adaptation.agent) == (0.1, 0.005, "alice@lab")


def test_a_request_that_changes_nothing_it_may_is_refused(store_dir):
    optimizer = Optimizer()
    with provinstr.run(name="fake-fit", store=str(store_dir)) as run:
        training = Activity(run, "Training", label="fit").start()
        refused = steering.request(store_dir, run.id, {"units": 3, "learning_rate": -0.1})
        apply_pending(FakeSteering(optimizer, training), run, 1)
        training.end()
    outcome = steering.read(refused)
    assert outcome["status"] == steering.REFUSED and outcome["applied"] == {} and outcome["epoch"] == 1
    assert set(outcome["refused"]) == {"units", "learning_rate"} and optimizer.learning_rate == 0.1
    assert facts.adaptations(provinstr.open_store(store_dir).run(run.id)) == []


def test_a_request_is_answered_applied_only_once_its_adaptation_can_be_read_from_the_store(store_dir):
    # `provinstr steer` and the run page tell the asker "applied at epoch N" as soon as the request file
    # says so; a query asked then must already find the change (the recorder writes every 0.5 s otherwise).
    optimizer = Optimizer()
    with provinstr.run(name="fake-fit", store=str(store_dir)) as run:
        training = Activity(run, "Training", label="fit").start()
        asked = steering.request(store_dir, run.id, {"learning_rate": 0.02}, agent="alice@lab")
        apply_pending(FakeSteering(optimizer, training), run, 2)
        assert steering.read(asked)["status"] == steering.APPLIED
        [adaptation] = facts.adaptations(provinstr.open_store(store_dir).run(run.id))
        assert (adaptation.epoch, adaptation.new, adaptation.agent) == (2, 0.02, "alice@lab")
        training.end()
