"""Same stream, same answers: a digest of everything ingestion answered and wrote.

  python benchmarks/ingest_digest.py [--events 60000] [--batch 2000]

Rates the benchmark's seeded stream into a fresh copy of the store and prints one JSON line with a
SHA-256 over the results (status, kopecks, draws, reason of every event) and over every row ingestion
writes (usage records with their explanations, ledger, bonus, notices, SMS, fee marks, pool draws,
buckets, lines, change feed). Run it on two versions of the code (`PYTHONPATH=<other checkout>`): a
change to the engine that is meant to be only faster must print the same digests.
"""

from __future__ import annotations

import argparse
import hashlib
import os

from _common import drop_sqlite_store, emit, sqlite_store, stream

TABLES = {
    "usage_records": "event_id, line_id, kind, direction, peer, started_at, duration_s, bytes, zone, status, units, "
                     "charged_kopecks, paid_by, drawn, explanation, ingested_at",
    "ledger_entries": "line_id, amount_kopecks, kind, category, cause_type, cause_ref, description, description_en, "
                      "balance_after, created_at",
    "bonus_entries": "line_id, points, reason, description, description_en, cause_ref, created_at",
    "notifications": "line_id, kind, text_ru, text_en, created_at",
    "sms_messages": "to_msisdn, sender, text, created_at",
    "daily_fee_charges": "line_id, code, day, amount_kopecks, cause_ref",
    "pool_draws": "bucket_id, line_id, used",
    "buckets": "id, line_id, kind, total, used, valid_from, valid_until",
    "lines": "id, msisdn, status, balance_kopecks, charged_total_kopecks, bonus_points, low_balance_notified, "
             "nbg_free_minutes_used, nbg_prev_free_minutes_used, version",
    "change_log": "line_id, at",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=60_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from mts_portal.core import charging
    from mts_portal.core.db import make_engine

    url = sqlite_store(args.lines, args.seed, f"mts-ingest-digest-{os.getpid()}")
    engine = make_engine(url)
    answers = hashlib.sha256()
    n = 0
    for now, batch in stream(url, args.events, args.seed, args.batch):
        for r in charging.ingest(engine, batch, now=now):
            answers.update(repr((r.event_id, r.status, r.charged_kopecks, r.drawn, r.reason, r.original)).encode())
            n += 1
    out = {"bench": "ingest_digest", "events": n, "batch": args.batch, "answers": answers.hexdigest()[:16]}
    with engine.connect() as conn:
        for table, cols in TABLES.items():
            h = hashlib.sha256()
            rows = conn.exec_driver_sql(f"SELECT {cols} FROM {table} ORDER BY {cols}").fetchall()
            for row in rows:
                h.update(repr(tuple(row)).encode())
            out[table] = f"{len(rows)}:{h.hexdigest()[:16]}"
    engine.dispose()
    drop_sqlite_store(url)
    emit(out)


if __name__ == "__main__":
    main()
