"""Elasticsearch as the event store, for when one machine's Parquet files are outgrown.

Events go to daily indices ``<prefix>-YYYY.MM.DD`` (ECS documents as they are, with
an index template mapping the usual ECS fields). Searches take the same query
language as the Parquet store: it is validated by our parser and then handed to
Elasticsearch's ``query_string``, whose syntax it is a subset of (with ``/`` in
CIDR values escaped). Hunts use the pySigma Elasticsearch backend
(``detectors/sigma``). Tested against a real cluster when ``SOC_TEST_ELASTICSEARCH_URL`` is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from soc.config import ElasticsearchConfig
from soc.query import compile_query

from .events import SearchResult
from .schema import parse_ts

TEMPLATE = {
    "index_patterns": [],
    "template": {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {
            "dynamic": True,
            "properties": {
                "@timestamp": {"type": "date"},
                "source": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"}, "bytes": {"type": "long"}}},
                "destination": {"properties": {"ip": {"type": "ip"}, "port": {"type": "long"},
                                               "bytes": {"type": "long"}}},
                "related": {"properties": {"ip": {"type": "ip"}, "user": {"type": "keyword"},
                                           "hosts": {"type": "keyword"}}},
                "event": {"properties": {"original": {"type": "keyword", "index": False, "doc_values": False},
                                         "dataset": {"type": "keyword"}, "category": {"type": "keyword"},
                                         "action": {"type": "keyword"}, "outcome": {"type": "keyword"}}},
                "message": {"type": "text"},
                "soc": {"properties": {"agency": {"properties": {"id": {"type": "keyword"}}},
                                       "system": {"properties": {"id": {"type": "keyword"},
                                                                 "level": {"type": "integer"}}}}},
            },
            "dynamic_templates": [{"strings": {"match_mapping_type": "string",
                                               "mapping": {"type": "keyword", "ignore_above": 2048}}}],
        },
    },
}


class ElasticEventStore:
    def __init__(self, cfg: ElasticsearchConfig) -> None:
        from elasticsearch import Elasticsearch

        kwargs: dict[str, Any] = {"verify_certs": cfg.verify_certs, "request_timeout": 30}
        if cfg.ca_certs:
            kwargs["ca_certs"] = cfg.ca_certs
        if cfg.api_key:
            kwargs["api_key"] = cfg.api_key.get_secret_value()
        elif cfg.username and cfg.password:
            kwargs["basic_auth"] = (cfg.username, cfg.password.get_secret_value())
        self.es = Elasticsearch(cfg.url, **kwargs)
        self.prefix = cfg.index_prefix
        self._template_ready = False

    def _ensure_template(self) -> None:
        if self._template_ready:
            return
        template: dict[str, Any] = TEMPLATE["template"]  # type: ignore[assignment]
        self.es.indices.put_index_template(name=self.prefix, index_patterns=[f"{self.prefix}-*"], template=template)
        self._template_ready = True

    def index_for(self, ts: datetime) -> str:
        return f"{self.prefix}-{ts.astimezone(UTC):%Y.%m.%d}"

    def write(self, events: Sequence[dict[str, Any]]) -> int:
        from elasticsearch.helpers import bulk

        if not events:
            return 0
        self._ensure_template()
        now = datetime.now(UTC)
        actions = ({"_index": self.index_for(parse_ts(e.get("@timestamp")) or now), "_source": e} for e in events)
        ok, errors = bulk(self.es, actions, raise_on_error=False, refresh="wait_for")
        if errors and isinstance(errors, list):
            raise RuntimeError(f"Elasticsearch rejected {len(errors)} event(s); first: {errors[0]}")
        return int(ok)

    @staticmethod
    def to_query_string(query: str) -> str:
        compile_query(query)  # raises QueryError with a clear message on bad syntax
        return re.sub(r"(?<!\\)/", r"\\/", query) if query.strip() else "*"

    def _body(self, query: str, start: datetime | None, end: datetime | None) -> dict[str, Any]:
        rng: dict[str, Any] = {}
        if start:
            rng["gte"] = start.isoformat()
        if end:
            rng["lt"] = end.isoformat()
        must: list[dict[str, Any]] = [{"query_string": {"query": self.to_query_string(query),
                                                        "default_operator": "AND", "lenient": True}}]
        if rng:
            must.append({"range": {"@timestamp": rng}})
        return {"bool": {"filter": must}}

    def search(self, query: str = "", start: datetime | None = None, end: datetime | None = None,
               limit: int = 100, offset: int = 0, sort: str = "desc", histogram: bool = False) -> SearchResult:
        aggs = None
        if histogram:
            span = (end or datetime.now(UTC)) - (start or datetime.now(UTC) - timedelta(days=1))
            aggs = {"h": {"date_histogram": {"field": "@timestamp",
                                             "calendar_interval": "hour" if span <= timedelta(days=3) else "day"}}}
        r = self.es.search(index=f"{self.prefix}-*", query=self._body(query, start, end), size=limit, from_=offset,
                           sort=[{"@timestamp": {"order": sort}}], track_total_hits=True, aggs=aggs,
                           ignore_unavailable=True, allow_no_indices=True)
        hist = [{"t": b["key_as_string"], "count": b["doc_count"]}
                for b in (r.get("aggregations") or {}).get("h", {}).get("buckets", [])]
        return SearchResult(int(r["hits"]["total"]["value"]), [h["_source"] for h in r["hits"]["hits"]],
                            float(r.get("took", 0)), hist)

    def iter_events(self, start: datetime | None = None, end: datetime | None = None,
                    query: str = "") -> Iterator[dict[str, Any]]:
        from elasticsearch.helpers import scan

        for hit in scan(self.es, index=f"{self.prefix}-*", query={"query": self._body(query, start, end),
                                                                   "sort": [{"@timestamp": "asc"}]},
                        preserve_order=True, ignore_unavailable=True):
            yield hit["_source"]

    def count(self, start: datetime | None = None, end: datetime | None = None) -> int:
        r = self.es.count(index=f"{self.prefix}-*", query=self._body("", start, end), ignore_unavailable=True)
        return int(r["count"])

    def apply_retention(self, days: int, now: datetime | None = None) -> int:
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).strftime("%Y.%m.%d")
        removed = 0
        for name in self.es.indices.get(index=f"{self.prefix}-*", ignore_unavailable=True):
            if name[len(self.prefix) + 1:] < cutoff:
                self.es.indices.delete(index=name)
                removed += 1
        return removed

    def stats(self) -> dict[str, Any]:
        return {"backend": "elasticsearch", "indices": f"{self.prefix}-*", "events": self.count()}
