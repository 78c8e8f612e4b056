"""MLflow both ways: runs pushed to an MLflow tracking server (``push``), brought in from
one, an MLflow database or an ``mlruns`` folder (``importer``), over MLflow's REST API
(``rest``), with the mapping between the two kinds of run in one place (``mapping``).
"""
