"""Failures of the managed RAG backends (Amazon Bedrock), as query-service domain errors: the API
answers them 502 (``bedrock_error``) and 504 (``bedrock_timeout``)."""

from __future__ import annotations

from ons_pipeline.lib.query.errors import QueryServiceError


class BedrockError(QueryServiceError):
    """Bedrock refused or failed a call (after botocore's retries): code ``bedrock_error``;
    ``details`` name the operation and AWS's error code, never credentials."""


class BedrockTimeout(BedrockError):
    """Bedrock did not answer within ``ONS_BEDROCK_TIMEOUT``: code ``bedrock_timeout``."""
