"""The closing summary of `make demo`: what was ingested, built and delivered, and where."""

from __future__ import annotations

from ingest.settings import Settings
from ingest.warehouse import connect


def _table_exists(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def print_summary(settings: Settings, *, elapsed_s: float) -> None:
    with connect(settings, read_only=True) as con:
        print("\n== Ingestion (latest delivery of every file) ==")
        if _table_exists(con, "meta", "file_status"):
            rows = con.execute(
                """
                select source, count(*) as files,
                       sum(rows_read), sum(rows_loaded), sum(rows_deduplicated),
                       sum(rows_quarantined), count(*) filter (where outcome = 'rejected')
                from meta.file_status group by source order by source
                """
            ).fetchall()
            print(
                f"{'source':<12} {'files':>6} {'read':>11} {'loaded':>11} {'dedup':>8} "
                f"{'quarant.':>8} {'rejected':>8}"
            )
            for r in rows:
                print(
                    f"{r[0]:<12} {r[1]:>6} {r[2]:>11,} {r[3]:>11,} {r[4]:>8,} {r[5]:>8,} {r[6]:>8}"
                )
            total = [sum(r[i] for r in rows) for i in range(1, 7)]
            print(
                f"{'total':<12} {total[0]:>6} {total[1]:>11,} {total[2]:>11,} {total[3]:>8,} "
                f"{total[4]:>8,} {total[5]:>8}"
            )
        else:
            print("no manifest: ingestion did not run")

        print("\n== Warehouse ==")
        schemas = con.execute(
            """
            select table_schema, count(*) from information_schema.tables
            where table_catalog = current_database()
            group by table_schema order by table_schema
            """
        ).fetchall()
        for schema, n in schemas:
            print(f"  {schema:<14} {n} tables/views")
        highlights = {
            "advertisers scored for churn": ("ml", "churn_scores", "count(*)"),
            "advertisers at or above the churn threshold": (
                "ml",
                "churn_scores",
                f"count(*) filter (where churn_probability >= {settings.alerts.churn_threshold})",
            ),
            "weekly forecast rows": ("ml", "category_forecasts", "count(*)"),
            "alerts open": (
                "alerts",
                "alert_history",
                "count(*) filter (where resolved_at is null)",
            ),
        }
        for label, (schema, table, expr) in highlights.items():
            if _table_exists(con, schema, table):
                value = con.execute(f"select {expr} from {schema}.{table}").fetchall()[0][0]
                print(f"  {label:<44} {value:,}")
    paths = settings.paths
    print(f"\n== Where things are (engine: {settings.warehouse.engine}) ==")
    print(f"  warehouse        {paths.warehouse_file}")
    if settings.warehouse.engine == "spark":
        print(f"  marts (Spark)    {settings.spark_dir / 'warehouse' / 'marts.db'}")
    print(f"  raw tracker data {paths.raw}")
    print(f"  BI snapshot      {paths.publish}")
    print(f"  alert feeds      {paths.feeds}")
    print("  Dagster UI       make dev  (then open http://127.0.0.1:3000)")
    print(f"\nDone in {elapsed_s:.1f} s.")
