"""The Hydra configs (`ocrperf-py/configs/callbacks/*.yaml`): each builds its callback with
`hydra.utils.instantiate`, and the callback runs in a tiny CPU Lightning `Trainer`.

Skipped without Hydra, Lightning or torch; failing instead with OCRPERF_REQUIRE_LIGHTNING=1.
"""

import inspect
import pathlib

import pytest

from conftest import batch_events, require

hydra = require("hydra")
L = require("lightning")
torch = require("torch")

from lightning.pytorch.loggers import CSVLogger  # noqa: E402
from test_with_lightning import Samples, TinyModel  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from ocrperf.lightning import Profiler, ResourceMonitor, Throughput  # noqa: E402

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
BATCHES = 6

# What each config builds, and the settings that make it fit a six-batch run.
CASES = {
    "throughput": (Throughput, []),
    "profiler": (Profiler, ["steps='1..3'"]),
    "resource_monitor": (ResourceMonitor, ["interval_s=0.05", "log_every_n_steps=2"]),
}


def compose(name, overrides):
    """The config as Hydra composes it, with overrides as on a command line."""
    with hydra.initialize_config_dir(config_dir=str(CONFIGS / "callbacks"), version_base=None):
        return hydra.compose(config_name=name, overrides=overrides)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_config_builds_its_callback_and_runs_in_a_trainer(name, tmp_path, monkeypatch):
    kind, overrides = CASES[name]
    monkeypatch.chdir(tmp_path)  # the configs' relative paths (batches.{rank}.jsonl) land here
    config = compose(name, overrides)
    assert config["_target_"] == f"ocrperf.lightning.{kind.__name__}"
    callback = hydra.utils.instantiate(config)
    assert type(callback) is kind

    logger = CSVLogger(tmp_path, name="run")
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=BATCHES,
        limit_val_batches=0,
        accelerator="cpu",
        callbacks=[callback],
        logger=logger,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(TinyModel(0.01, 0.0), DataLoader(Samples(BATCHES * 2, 0.0), batch_size=2))

    if kind is Throughput:
        events = batch_events(tmp_path / "batches.0.jsonl")
        assert [e["step"] for e in events] == list(range(BATCHES))
        assert all(e["batch_size"] == 2 for e in events)
    elif kind is Profiler:
        [report] = callback.reports
        assert report["steps"]["count"] == 2
        assert (pathlib.Path(logger.log_dir) / "ocrperf-profile" / "window1" / "report.md").exists()
    else:
        assert callback.summary["samples"] >= 1
        assert callback.metrics == ResourceMonitor().metrics  # the package's default, not a copy


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_config_restates_its_constructors_defaults(name):
    """The configs show every setting at its default for people to edit; each value must be the
    constructor's default, so a default changed in the code cannot leave a config building
    something else. A setting without a default (Throughput's `path`) is the config's own."""
    from omegaconf import OmegaConf

    kind, _ = CASES[name]
    config = OmegaConf.to_container(OmegaConf.load(CONFIGS / "callbacks" / f"{name}.yaml"))
    assert isinstance(config, dict) and config.pop("_target_") == f"ocrperf.lightning.{kind.__name__}"
    parameters = inspect.signature(kind).parameters
    assert set(config) <= set(parameters), set(config) - set(parameters)
    restated = {
        key: parameters[key].default for key in config if parameters[key].default is not inspect.Parameter.empty
    }
    assert {key: config[key] for key in restated} == restated
    assert len(restated) >= len(config) - 1
