"""Notifications to Amazon SNS: migration failures and completions, with table, partition, error.

The one SNS publisher of the project (run notifications here, alerts in ``monitoring``). The
topic of run notifications is ``$ONS_SNS_TOPIC_ARN``. Without it, against the local AWS endpoint
(moto), a topic named ``ons-pipeline-migration`` is created (``CreateTopic`` is idempotent) so
that the local setup behaves like production; against real AWS without a topic, nothing is
published (and the caller logs why). Subscribers (e-mail, SQS, Lambda, chat) get a short
subject and a JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

LOCAL_TOPIC_NAME = "ons-pipeline-migration"
SUBJECT_MAX = 100
MESSAGE_MAX = 200_000  # SNS accepts 256 KiB


@dataclass
class StepError:
    step: str
    table: str | None
    error: str


@dataclass
class RunNotification:
    """What happened to one Dagster run, as subscribers receive it."""

    event: str  # "failure" | "completed"
    job: str
    run_id: str
    partition: str | None
    tables: list[str]
    error: str | None = None
    steps: list[StepError] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        what = "FAILED" if self.event == "failure" else "completed"
        tables = ",".join(self.tables) if len(self.tables) <= 3 else f"{len(self.tables)} tables"
        text = f"ons-pipeline: {self.job} {what}"
        if self.partition:
            text += f" {self.partition}"
        if tables:
            text += f" ({tables})"
        return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1] + "…"

    def body(self) -> str:
        data = asdict(self)
        data["subject"] = self.subject
        text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
        if len(text.encode()) > MESSAGE_MAX:
            data["steps"] = data["steps"][:5]
            data["checks"] = data["checks"][:5]
            text = json.dumps(data, indent=2, default=str, ensure_ascii=False)[:MESSAGE_MAX]
        return text


def ensure_local_topic(sns: Any, name: str) -> str:
    """Create (idempotently) a topic on the local endpoint; returns its ARN."""
    return str(sns.create_topic(Name=name)["TopicArn"])


def resolve_topic(
    sns: Any, local: bool, arn: str | None, local_name: str = LOCAL_TOPIC_NAME
) -> str | None:
    """The topic ARN to publish to: ``arn`` when configured, else on the local endpoint (moto) a
    topic created under ``local_name``, else none (real AWS without a topic: only logged)."""
    if arn:
        return arn
    return ensure_local_topic(sns, local_name) if local else None


def sns_subject(text: str) -> str:
    """An SNS subject: printable ASCII, no line breaks, at most 100 characters, never empty."""
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text.replace("\n", " ")).strip()
    clean = clean if len(clean) <= SUBJECT_MAX else clean[: SUBJECT_MAX - 3] + "..."
    return clean or "ons-pipeline"


def publish_message(
    sns: Any, topic_arn: str, subject: str, message: str, attributes: Mapping[str, str]
) -> str:
    """Publish one message (string attributes, for subscription filters); its message id."""
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=sns_subject(subject),
        Message=message,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )
    return str(response.get("MessageId", ""))


def publish(sns: Any, topic_arn: str, note: RunNotification) -> str:
    """Publish ``note``; the SNS message id."""
    attributes = {"event": note.event, "job": note.job, "partition": note.partition or "-"}
    return publish_message(sns, topic_arn, note.subject, note.body(), attributes)


def table_of(step_key: str, tables: list[str]) -> str | None:
    """The table a step works on (``influxdb__curva_carga``, ``gx_curva_carga``...)."""
    matches = [t for t in tables if step_key.endswith(t) or f"__{t}" in step_key or t in step_key]
    return max(matches, key=len) if matches else None
