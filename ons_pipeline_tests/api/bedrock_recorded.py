"""RECORDED RESPONSE SHAPES — not captured from a live AWS call.

moto (the local AWS endpoint) implements Bedrock's ``GetKnowledgeBase`` (bedrock-agent), but
not ``Retrieve`` (bedrock-agent-runtime: 404) nor ``Converse`` (bedrock-runtime: only a stub
``InvokeModel`` answering ``{}``) — checked against moto 5.2.5. The tests therefore serve these
bodies from a loopback HTTP server to real boto3 clients (so botocore's REST-JSON serialisation,
signing, retries and parsing all run), and ``test_bedrock.py`` validates them against botocore's
own service model of the two operations.

Their structure follows the AWS API reference, "Response Syntax":
- Retrieve: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_Retrieve.html
  (``KnowledgeBaseRetrievalResult``: content {text, type}, location {type, s3Location {uri}},
  metadata with the keys an S3 data source adds — ``x-amz-bedrock-kb-source-uri``,
  ``x-amz-bedrock-kb-chunk-id``, ``x-amz-bedrock-kb-data-source-id`` — and score);
- Converse: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
  (output.message {role, content [{text}]}, stopReason, usage, metrics.latencyMs).
The values (texts, ids, scores, token counts) are illustrative, written for these tests.
"""

from __future__ import annotations

from typing import Any

DATA_SOURCE_ID = "DS7K2QW9PL"

RETRIEVE_RESPONSE: dict[str, Any] = {
    "retrievalResults": [
        {
            "content": {
                "type": "TEXT",
                "text": (
                    "A Energia Armazenada (EAR) é a energia que pode ser gerada com a água "
                    "armazenada nos reservatórios das usinas hidrelétricas de um subsistema, "
                    "expressa em MWmês e em percentual da capacidade máxima."
                ),
            },
            "location": {
                "type": "S3",
                "s3Location": {"uri": "s3://ons-kb-docs/conceitos/ear.md"},
            },
            "metadata": {
                "x-amz-bedrock-kb-source-uri": "s3://ons-kb-docs/conceitos/ear.md",
                "x-amz-bedrock-kb-chunk-id": "1%3A0%3AqG7tdZEBv3c1mZ2k8x4R",
                "x-amz-bedrock-kb-data-source-id": DATA_SOURCE_ID,
            },
            "score": 0.7183,
        },
        {
            "content": {
                "type": "TEXT",
                "text": (
                    "A Energia Natural Afluente (ENA) é a energia que pode ser produzida a partir "
                    "das vazões naturais afluentes aos aproveitamentos hidrelétricos, comparada "
                    "com a média de longo termo (MLT)."
                ),
            },
            "location": {
                "type": "S3",
                "s3Location": {"uri": "s3://ons-kb-docs/conceitos/ena.md"},
            },
            "metadata": {
                "x-amz-bedrock-kb-source-uri": "s3://ons-kb-docs/conceitos/ena.md",
                "x-amz-bedrock-kb-chunk-id": "1%3A0%3ArH1udZEBv3c1mZ2kAy9c",
                "x-amz-bedrock-kb-data-source-id": DATA_SOURCE_ID,
            },
            "score": 0.6542,
        },
        {
            "content": {
                "type": "TEXT",
                "text": (
                    "O Sistema Interligado Nacional (SIN) é dividido nos subsistemas Sudeste/"
                    "Centro-Oeste, Sul, Nordeste e Norte."
                ),
            },
            "location": {
                "type": "S3",
                "s3Location": {"uri": "s3://ons-kb-docs/conceitos/subsistemas.md"},
            },
            "metadata": {
                "x-amz-bedrock-kb-source-uri": "s3://ons-kb-docs/conceitos/subsistemas.md",
                "x-amz-bedrock-kb-chunk-id": "1%3A0%3AsJ2udZEBv3c1mZ2kBz0d",
                "x-amz-bedrock-kb-data-source-id": DATA_SOURCE_ID,
            },
            "score": 0.5127,
        },
    ]
}

ANSWER_TEXT = (
    "A EAR do Sudeste em 5 de março de 2024 está na série citada [1]; a EAR é a energia "
    "armazenada nos reservatórios [2]. Ver também [9]."
)

CONVERSE_RESPONSE: dict[str, Any] = {
    "output": {"message": {"role": "assistant", "content": [{"text": ANSWER_TEXT}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 912, "outputTokens": 61, "totalTokens": 973},
    "metrics": {"latencyMs": 1387},
}
