"""Integration test of the Elasticsearch event store; runs only when SOC_TEST_ELASTICSEARCH_URL is set.

No Elasticsearch server can be installed on the project's machines, so CI skips this;
point SOC_TEST_ELASTICSEARCH_URL at a disposable cluster to run it.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest

from soc.config import ElasticsearchConfig
from soc.query import QueryError

URL = os.environ.get("SOC_TEST_ELASTICSEARCH_URL")
pytestmark = [pytest.mark.elasticsearch,
              pytest.mark.skipif(not URL, reason="SOC_TEST_ELASTICSEARCH_URL not set (no Elasticsearch here)")]


def test_write_search_retention() -> None:
    from soc.storage.elastic import ElasticEventStore

    prefix = f"soc-test-{uuid.uuid4().hex[:8]}"
    store = ElasticEventStore(ElasticsearchConfig(url=URL or "", index_prefix=prefix, verify_certs=False))
    try:
        store.write([
            {"@timestamp": "2026-11-30T01:00:00Z", "source": {"ip": "10.1.1.5"}, "user": {"name": "root"},
             "event": {"dataset": "system.auth", "outcome": "failure"}},
            {"@timestamp": "2026-11-30T02:00:00Z", "source": {"ip": "8.8.8.8"}, "event": {"dataset": "x"}},
        ])
        start = datetime(2026, 11, 29, tzinfo=UTC)
        assert store.search("", start).total == 2
        assert store.search("source.ip:10.0.0.0/8", start).total == 1
        assert store.search("event.outcome:failure AND user.name:root", start).total == 1
        assert [e["source"]["ip"] for e in store.iter_events(start)] == ["10.1.1.5", "8.8.8.8"]
        with pytest.raises(QueryError):
            store.search("(broken")
        assert store.apply_retention(1, now=datetime(2026, 12, 5, tzinfo=UTC)) >= 1
    finally:
        store.es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
