"""Custom checkov policies for ons-pipeline (loaded with ``--external-checks-dir infra/checkov``).

checkov 3.x ships no rule for ``aws_timestreaminfluxdb_*`` resources; these fill the gap.
checkov only loads a directory of Python checks when it has an ``__init__.py``.
"""
