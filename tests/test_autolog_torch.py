"""PyTorch Lightning and Hugging Face Trainer autologging with the real frameworks (CPU
torch), on tiny models and random data made here, nothing downloaded. `make
test-autolog-torch` runs them in a venv of their own (where a missing framework fails
them); elsewhere they are skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import jupyter_tracker as jt

REQUIRED = "JUPYTER_TRACKER_TORCH_TESTS"  # set by `make test-autolog-torch`
try:
    import lightning.pytorch as pl
    import torch
    import transformers
except ImportError:
    if os.environ.get(REQUIRED) == "1":
        raise
    pytest.skip("torch stack not installed: make test-autolog-torch", allow_module_level=True)

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing from the hub, even by mistake


@pytest.fixture
def autolog(store):
    jt.autolog(silent=True)
    yield
    jt.autolog(disable=True)


def steps(run_id: str, key: str) -> list[int]:
    return list(jt.metric_history(run_id, key)["step"])


# -- PyTorch Lightning --------------------------------------------------------------------


class TinyRegressor(pl.LightningModule):
    """Two linear layers learning the sum of four numbers."""

    def __init__(self, hidden: int = 8, lr: float = 0.05, schedule: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch))

    def _loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def loaders():
    """Four training batches of 16 and one validation batch."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(80, 4, generator=generator)
    data = torch.utils.data.TensorDataset(x, x.sum(dim=1, keepdim=True))
    train, valid = torch.utils.data.random_split(data, [64, 16], generator=generator)
    loader = torch.utils.data.DataLoader
    return loader(train, batch_size=16), loader(valid, batch_size=16)


def trainer(tmp_path: Path, **kwargs) -> pl.Trainer:
    options = {
        "max_epochs": 3,
        "accelerator": "cpu",
        "default_root_dir": tmp_path,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        **kwargs,
    }
    return pl.Trainer(**options)


def test_lightning_autolog_records_a_fit_without_our_logger(autolog, tmp_path):
    fitting = trainer(tmp_path, logger=False)
    fitting.fit(TinyRegressor(schedule={"warmup": 2}), *loaders())
    run = jt.last_active_run()
    assert run.status == "FINISHED"
    assert {"epochs": 3, "optimizer_name": "Adam", "lr": 0.05, "hidden": 8}.items() <= (
        run.params.items()
    )
    assert run.params["schedule/warmup"] == 2 and run.tags["Mode"] == "training"
    for key in ("train_loss", "val_loss"):
        assert steps(run.id, key) == [0, 1, 2], key  # step = the epoch
    history = jt.metric_history(run.id, "val_loss")["value"]
    assert history.iloc[-1] < history.iloc[0]
    assert Path(run.tags["checkpoint_path"]).is_file()
    assert run.tags["checkpoint_path"] == fitting.checkpoint_callback.best_model_path
    summary = [a for a in run.artifacts if a["path"] == "model_summary.txt"]
    assert len(summary) == 1


def test_lightning_autolog_every_n_steps_into_the_active_run(autolog, tmp_path):
    jt.lightning.autolog(log_every_n_step=2, silent=True)
    with jt.start_run() as mine:
        trainer(tmp_path, logger=False, enable_checkpointing=False).fit(TinyRegressor(), *loaders())
    run = jt.get_run(mine.id)
    assert run.status == "FINISHED" and run.params["epochs"] == 3
    assert steps(run.id, "train_loss") == [2, 4, 6, 8, 10, 12]  # 4 batches an epoch
    assert steps(run.id, "val_loss") == [0, 1, 2]
    assert "checkpoint_path" not in run.tags
    assert len(jt.search_runs()) == 1
    with pytest.raises(ValueError, match="log_every_n_step"):
        jt.pytorch.autolog(log_every_n_step=0)


def test_lightning_autolog_records_early_stopping(autolog, tmp_path):
    stopper = pl.callbacks.EarlyStopping("val_loss", min_delta=10.0, patience=1)
    trainer(tmp_path, logger=False, callbacks=[stopper]).fit(TinyRegressor(), *loaders())
    run = jt.last_active_run()
    assert {"monitor": "val_loss", "mode": "min", "patience": 1}.items() <= run.params.items()
    assert run.metrics["stopped_epoch"] == 1 and run.metrics["restored_epoch"] == 0
    assert run.metrics["wait_count"] == 1 and "best_score" in run.metrics
    assert steps(run.id, "val_loss") == [0, 1]


def test_the_lightning_logger_used_explicitly_logs_lightnings_metrics(store, tmp_path):
    logger = jt.lightning.Logger()
    fitting = trainer(tmp_path, logger=logger)
    fitting.fit(TinyRegressor(lr=0.02), *loaders())
    run = jt.last_active_run()
    assert logger.version == run.id and logger.experiment.id == run.id
    assert run.status == "FINISHED"  # the logger's own run, ended by the trainer
    assert {"lr": 0.02, "hidden": 8}.items() <= run.params.items()
    assert steps(run.id, "train_loss") == list(range(12))  # Lightning's global step
    assert steps(run.id, "val_loss") == [3, 7, 11]
    checkpoint = Path(run.tags["checkpoint_path"])
    assert checkpoint.is_file()
    assert checkpoint.parent == tmp_path / "lightning_logs" / run.id / "checkpoints"

    fitting.validate(fitting.lightning_module, loaders()[1])  # the same run, resumed and ended
    assert jt.active_run() is None and jt.get_run(run.id).status == "FINISHED"
    assert steps(run.id, "val_loss") == [3, 7, 11, 12]

    fitting = trainer(tmp_path, logger=jt.lightning.Logger(), enable_checkpointing=False)
    with jt.start_run() as mine:  # an active run: the logger logs to it, and leaves it open
        fitting.fit(TinyRegressor(), *loaders())
        assert jt.active_run().id == mine.id
    assert jt.get_run(mine.id).status == "FINISHED"
    assert steps(mine.id, "train_loss") == list(range(12))


def test_the_standalone_pytorch_lightning_package_is_recorded_too(autolog, tmp_path):
    import pytorch_lightning  # its own Trainer and classes, beside lightning.pytorch's

    class Standalone(pytorch_lightning.LightningModule):
        def __init__(self, lr: float = 0.1):
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    def fit(**kwargs) -> jt.Run:
        pytorch_lightning.Trainer(
            max_epochs=1,
            default_root_dir=tmp_path,
            enable_progress_bar=False,
            log_every_n_steps=1,
            **kwargs,
        ).fit(Standalone(), loaders()[0])
        return jt.last_active_run()

    run = fit(logger=False)  # autolog
    assert run.status == "FINISHED" and run.params["optimizer_name"] == "SGD"
    assert steps(run.id, "train_loss") == [0]
    assert Path(run.tags["checkpoint_path"]).is_file()
    run = fit(logger=jt.lightning.Logger())  # the logger (autolog leaves the fit to it)
    assert run.status == "FINISHED" and run.params == {"lr": 0.1}
    assert steps(run.id, "train_loss") == [0, 1, 2, 3]
    assert Path(run.tags["checkpoint_path"]).is_file()


def test_a_tracked_cell_records_its_fit(ip, autolog, tmp_path):
    fitting = trainer(tmp_path, logger=False, enable_checkpointing=False)
    ip.user_ns.update(fitting=fitting, model=TinyRegressor(), loaders=loaders)
    ip.run_cell("%%track_run --name cell\nfitting.fit(model, *loaders())")
    run = jt.last_active_run()
    assert run.name == "cell" and run.status == "FINISHED" and run.params["epochs"] == 3
    assert steps(run.id, "val_loss") == [0, 1, 2]


def test_a_failing_fit_fails_the_loggers_run(store, tmp_path):
    class Broken(TinyRegressor):
        def training_step(self, batch, batch_idx):
            raise RuntimeError("broken")

    with pytest.raises(RuntimeError, match="broken"):
        trainer(tmp_path, logger=jt.lightning.Logger()).fit(Broken(), *loaders())
    assert jt.last_active_run().status == "FAILED"


def test_autolog_leaves_a_trainer_with_our_logger_to_it(autolog, tmp_path):
    trainer(tmp_path, logger=jt.lightning.Logger()).fit(TinyRegressor(), *loaders())
    (run,) = jt.search_runs(output_format="list")
    assert steps(run.info.run_id, "train_loss") == list(range(12))  # once each, not twice


# -- Hugging Face Trainer -----------------------------------------------------------------


def tiny_bert():
    """A two-layer BERT classifier with random weights, built from its config."""
    config = transformers.BertConfig(
        vocab_size=32,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=2,
    )
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(config)


class Tokens(torch.utils.data.Dataset):
    """Random token ids of 8, labelled by whether the first is below half the vocabulary."""

    def __init__(self, size: int):
        generator = torch.Generator().manual_seed(size)
        self.ids = torch.randint(0, 32, (size, 8), generator=generator)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": int(self.ids[i, 0] < 16)}


def hf_trainer(tmp_path: Path, **kwargs) -> transformers.Trainer:
    arguments = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=2,
        per_device_train_batch_size=8,
        learning_rate=1e-3,
        logging_steps=2,
        eval_strategy="epoch",
        save_strategy="epoch",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    return transformers.Trainer(
        model=tiny_bert(),
        args=arguments,
        train_dataset=Tokens(32),
        eval_dataset=Tokens(8),
        **kwargs,
    )


def test_transformers_autolog_records_a_trainer(autolog, tmp_path):
    hf_trainer(tmp_path).train()
    run = jt.last_active_run()
    assert run.status == "FINISHED"
    assert run.params["learning_rate"] == 0.001 and run.params["num_train_epochs"] == 2
    assert run.params["hidden_size"] == 16  # the model's config
    assert run.params["id2label.0"] == "LABEL_0"  # nested names joined by "."
    assert steps(run.id, "loss") == [2, 4, 6, 8]  # 4 batches an epoch, logged every 2
    assert steps(run.id, "eval_loss") == [4, 8]
    assert "train_runtime" in run.metrics
    checkpoint = Path(run.tags["checkpoint_path"])
    assert checkpoint == tmp_path / "out" / "checkpoint-8" and checkpoint.is_dir()


def test_transformers_autolog_logs_into_the_active_run(autolog, tmp_path):
    with jt.start_run() as mine:
        hf_trainer(tmp_path).train()
        assert jt.active_run().id == mine.id
    run = jt.get_run(mine.id)
    assert run.status == "FINISHED" and steps(run.id, "loss") == [2, 4, 6, 8]
    assert len(jt.search_runs()) == 1


def test_a_failing_trainer_fails_the_run_autolog_started(autolog, tmp_path):
    trainer = hf_trainer(tmp_path)
    trainer.compute_loss = lambda *args, **kwargs: 1 / 0
    with pytest.raises(ZeroDivisionError):
        trainer.train()
    run = jt.last_active_run()
    assert run.status == "FAILED" and run.params["learning_rate"] == 0.001
    assert jt.active_run() is None


def test_the_transformers_callback_used_explicitly(store, tmp_path):
    hf_trainer(tmp_path, callbacks=[jt.transformers.Callback()]).train()
    run = jt.last_active_run()
    assert run.status == "FINISHED"  # the callback's own run, ended with training
    assert run.params["per_device_train_batch_size"] == 8
    assert steps(run.id, "loss") == [2, 4, 6, 8]
    assert Path(run.tags["checkpoint_path"]).is_dir()
    assert jt.active_run() is None


def test_exclusive_leaves_the_users_run_alone_and_disable_unpatches(autolog, tmp_path):
    assert hasattr(pl.Trainer.fit, "__wrapped__")  # patched
    assert hasattr(transformers.Trainer.train, "__wrapped__")
    jt.autolog(exclusive=True, silent=True)
    with jt.start_run() as mine:
        trainer(tmp_path, logger=False).fit(TinyRegressor(), *loaders())
        hf_trainer(tmp_path).train()
    assert len(jt.search_runs()) == 1 and jt.get_run(mine.id).params == {}
    jt.autolog(disable=True)
    assert not hasattr(pl.Trainer.fit, "__wrapped__")
    assert not hasattr(transformers.Trainer.train, "__wrapped__")


# -- imports ------------------------------------------------------------------------------


def test_a_missing_framework_is_one_line(run_script):
    out = run_script(
        """
        import sys
        sys.modules["lightning"] = sys.modules["transformers"] = None  # as if not installed
        import jupyter_tracker as jt
        jt.autolog()  # says nothing: it imports no framework
        for make in (lambda: jt.lightning.Logger(), lambda: jt.transformers.Callback()):
            try:
                make()
            except ModuleNotFoundError as exc:
                print(exc)
        """
    )
    assert out.stdout.splitlines() == [
        "jt.lightning.Logger needs lightning: pip install lightning",
        "jt.transformers.Callback needs transformers: pip install transformers",
    ]
    assert out.stderr == ""


def test_nothing_is_imported_until_the_user_imports_it(run_script):
    out = run_script(
        """
        import sys
        import jupyter_tracker as mlflow
        torch_stack = ("torch", "lightning", "pytorch_lightning", "transformers")
        assert not set(torch_stack) & set(sys.modules), "import jupyter_tracker"
        mlflow.autolog(silent=True)
        mlflow.pytorch.autolog(silent=True)
        mlflow.transformers.autolog(silent=True)
        assert not set(torch_stack) & set(sys.modules), "autolog"
        import transformers  # lazy: the Trainer is not imported yet
        import lightning.pytorch as pl
        import torch
        model = torch.nn.Linear(1, 1)
        class Module(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.layer = torch.nn.Linear(1, 1)
            def training_step(self, batch, batch_idx):
                return self.layer(batch[0]).pow(2).mean()
            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=0.1)
        data = torch.utils.data.TensorDataset(torch.ones(4, 1))
        pl.Trainer(
            max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False,
        ).fit(Module(), torch.utils.data.DataLoader(data, batch_size=2))
        run = mlflow.last_active_run()
        print(run.info.status, run.data.params["optimizer_name"])
        """
    )
    assert out.stdout.split("\n")[0] == "FINISHED SGD"
