"""Notifications to Amazon SNS: migration failures and completions, with table, partition, error.

The topic is ``$ONS_SNS_TOPIC_ARN``. Without it, against the local AWS endpoint (moto), a topic
named ``ons-pipeline-migration`` is created (``CreateTopic`` is idempotent) so that the local setup
behaves like production; against real AWS without a topic, nothing is published (and the caller
logs why). Subscribers (e-mail, SQS, Lambda, chat) get a short subject and a JSON body.
"""

from __future__ import annotations

import json
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


def resolve_topic(sns: Any, local: bool, arn: str | None) -> str | None:
    """The topic ARN to publish to: ``arn`` (``ONS_SNS_TOPIC_ARN``), or a local topic created on
    moto."""
    if arn:
        return arn
    if not local:
        return None
    return str(sns.create_topic(Name=LOCAL_TOPIC_NAME)["TopicArn"])


def publish(sns: Any, topic_arn: str, note: RunNotification) -> str:
    """Publish ``note``; the SNS message id."""
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=_ascii_subject(note.subject),
        Message=note.body(),
        MessageAttributes={
            "event": {"DataType": "String", "StringValue": note.event},
            "job": {"DataType": "String", "StringValue": note.job},
            "partition": {"DataType": "String", "StringValue": note.partition or "-"},
        },
    )
    return str(response["MessageId"])


def _ascii_subject(subject: str) -> str:
    # SNS subjects must be ASCII, start with a letter, number or punctuation, no newlines.
    text = subject.encode("ascii", "replace").decode().replace("\n", " ").strip()
    return text[:SUBJECT_MAX] or "ons-pipeline"


def table_of(step_key: str, tables: list[str]) -> str | None:
    """The table a step works on (``influxdb__curva_carga``, ``gx_curva_carga``...)."""
    matches = [t for t in tables if step_key.endswith(t) or f"__{t}" in step_key or t in step_key]
    return max(matches, key=len) if matches else None
