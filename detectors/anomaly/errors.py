"""Errors of the anomaly model, each phrased with what the operator should do next."""

from __future__ import annotations


class AnomalyError(Exception):
    """Base of every anomaly-model error; the message is meant for the operator."""


class SparkUnavailableError(AnomalyError):
    """Java (or pyspark) is missing, so Spark jobs cannot start; the rest of the service keeps running."""


class EmptyWindowError(AnomalyError):
    """No usable events in the requested window."""


class ModelNotFoundError(AnomalyError):
    """No trained model yet (or the named file does not exist)."""


class ModelSchemaError(AnomalyError):
    """A model file was trained with another feature schema, or is not one of ours."""
