"""What the custom checks share. Not a check: checkov loads every ``.py`` here and finds none in
this one. The checks import it by its file name, which checkov's loader makes importable (it puts
this directory on ``sys.path``); hence a name that nothing else on the path uses.
"""

from __future__ import annotations

from typing import Any

# The Timestream for InfluxDB resources: v2 DB instance, v3 DB cluster.
INFLUXDB_RESOURCES = ("aws_timestreaminfluxdb_db_instance", "aws_timestreaminfluxdb_db_cluster")


def first(value: Any) -> Any:
    """The first item of what checkov gives as a list (argument values, nested blocks)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value
