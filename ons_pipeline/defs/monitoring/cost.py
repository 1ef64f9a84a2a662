"""Monthly cost estimate of the Timestream for InfluxDB instance, from the shipped price table."""

import dagster as dg
from pydantic import Field

from ons_pipeline.defs.monitoring.health import MONITORING
from ons_pipeline.environment import load_settings
from ons_pipeline.lib.ops.monitoring import estimate_monthly_cost, load_prices

COST_KEY = dg.AssetKey("influxdb_monthly_cost")
INSTANCE = load_settings().instance


class CostConfig(dg.Config):
    """The instance to price; defaults from ``ONS_INFLUX_INSTANCE_TYPE``,
    ``ONS_INFLUX_STORAGE_TYPE``, ``ONS_INFLUX_ALLOCATED_STORAGE`` and
    ``ONS_INFLUX_DEPLOYMENT_TYPE`` (the dev tfvars' values otherwise)."""

    instance_type: str = Field(
        default=INSTANCE.instance_type,
        description="db.influx.medium ... db.influx.16xlarge",
    )
    storage_type: str = Field(
        default=INSTANCE.storage_type,
        description="InfluxIOIncludedT1 (3K IOPS), T2 (12K) or T3 (16K)",
    )
    allocated_storage_gb: int = Field(
        default=INSTANCE.allocated_storage_gb,
        description="Allocated storage in GB (T2/T3 need at least 400).",
    )
    deployment_type: str = Field(
        default=INSTANCE.deployment_type,
        description="SINGLE_AZ or WITH_MULTIAZ_STANDBY (doubles instance and storage).",
    )


@dg.asset(
    key=COST_KEY,
    group_name=MONITORING,
    kinds={"aws"},
    description=(
        "Estimated monthly cost of the Timestream for InfluxDB instance (instance class, storage "
        "type/IOPS tier and size, Multi-AZ standby) from the price table shipped in "
        "ons_pipeline/lib/ops/prices.toml. The metadata states the prices' date and source and "
        "whether they were verified: check them before quoting the figure."
    ),
)
def influxdb_monthly_cost(
    context: dg.AssetExecutionContext, config: CostConfig
) -> dg.MaterializeResult:
    prices = load_prices()
    try:
        estimate = estimate_monthly_cost(
            config.instance_type,
            config.storage_type,
            config.allocated_storage_gb,
            config.deployment_type,
            prices,
        )
    except ValueError as exc:
        raise dg.Failure(description=str(exc)) from None
    if estimate.warning:
        context.log.warning(estimate.warning)
    currency = estimate.currency
    table = "\n".join(
        [
            "| item | configuration | per month |",
            "|---|---|---|",
            f"| instance | {estimate.instance_type} × {estimate.hours_per_month:.0f} h "
            f"at {estimate.instance_hourly} {currency}/h | {estimate.instance_monthly:.2f} |",
            f"| storage | {estimate.allocated_storage_gb} GB {estimate.storage_label} "
            f"| {estimate.storage_monthly:.2f} |",
            f"| total ({estimate.deployment_type}) | "
            f"| **{estimate.total_monthly:.2f} {currency}** |",
        ]
    )
    return dg.MaterializeResult(
        metadata={
            "total per month": dg.MetadataValue.float(estimate.total_monthly),
            "instance per month": dg.MetadataValue.float(estimate.instance_monthly),
            "storage per month": dg.MetadataValue.float(estimate.storage_monthly),
            "currency": currency,
            "region": estimate.region,
            "breakdown": dg.MetadataValue.md(table),
            "prices as of": estimate.prices_as_of,
            "prices source": dg.MetadataValue.url(estimate.prices_source.split(" ")[0]),
            "prices verified": dg.MetadataValue.bool(estimate.prices_verified),
            "warning": estimate.warning or "",
        }
    )
