{#- The tracker facts (clicks, conversion events) are day-partitioned Parquet that ingestion writes
    (docs/raw_layer.md). These macros read them, detect which partitions changed since a model
    last consumed them, and drive the incremental models from that.

    Where the raw folder is: env CPA_RAW_DIR (the orchestrator exports it), default data/raw.
    Engine-specific parts are dispatched (duckdb__ / spark__): listing the partition files and
    clearing the days a run rebuilds; everything else is plain SQL both engines run. -#}

{% macro raw_dir() -%}{{ return(env_var('CPA_RAW_DIR', 'data/raw') | replace('\\', '/')) }}{%- endmacro %}

{% macro raw_glob(dataset) -%}{{ return(raw_dir() ~ '/' ~ dataset ~ '/*/*.parquet') }}{%- endmacro %}

{#- The file day of a partition file from its hive path (`.../day=YYYY-MM-DD/part-0.parquet`). -#}
{% macro partition_file_day(path_col) -%}
    cast(regexp_extract({{ path_col }}, 'day=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date)
{%- endmacro %}

{#- True when at least one partition file of the dataset exists (checked at run time only).
    DuckDB: glob the files (read_parquet fails on an empty glob). Spark: always true, the source
    table (engine_sources.sql) exists with its declared schema and simply reads empty. -#}
{% macro raw_files_exist(dataset) %}
    {{ return(adapter.dispatch('raw_files_exist', 'cpa_warehouse')(dataset)) }}
{% endmacro %}

{% macro default__raw_files_exist(dataset) %}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set result = run_query("select count(*) from glob('" ~ raw_glob(dataset) ~ "')") -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{% endmacro %}

{% macro spark__raw_files_exist(dataset) %}{{ return(true) }}{% endmacro %}

{#- Typed empty relations, so that a warehouse with no partition yet still builds (empty facts). -#}
{% macro empty_raw_fact(dataset) -%}
    {%- if dataset == 'clicks' -%}
    (select cast(null as {{ dbt.type_string() }}) as click_id, cast(null as timestamp) as ts,
            cast(null as bigint) as offer_id, cast(null as bigint) as publisher_id,
            cast(null as {{ dbt.type_string() }}) as source, cast(null as {{ dbt.type_string() }}) as sub_id,
            cast(null as {{ dbt.type_string() }}) as country, cast(null as {{ dbt.type_string() }}) as device,
            cast(null as {{ dbt.type_string() }}) as os, cast(null as {{ dbt.type_string() }}) as ip_hash,
            cast(null as {{ dbt.type_string() }}) as user_agent_hash, cast(null as boolean) as is_unique,
            cast(null as boolean) as is_bot, cast(null as {{ dbt.type_string() }}) as _source_file,
            cast(null as bigint) as _source_line, cast(null as date) as day
     where 1 = 0)
    {%- else -%}
    (select cast(null as {{ dbt.type_string() }}) as conversion_id, cast(null as {{ dbt.type_string() }}) as click_id,
            cast(null as bigint) as offer_id, cast(null as bigint) as advertiser_id,
            cast(null as bigint) as publisher_id, cast(null as {{ dbt.type_string() }}) as goal,
            cast(null as {{ dbt.type_string() }}) as status, cast(null as timestamp) as created_at,
            cast(null as timestamp) as updated_at, cast(null as double) as revenue,
            cast(null as double) as payout, cast(null as {{ dbt.type_string() }}) as currency,
            cast(null as {{ dbt.type_string() }}) as sub_id, cast(null as {{ dbt.type_string() }}) as country,
            cast(null as {{ dbt.type_string() }}) as comment, cast(null as {{ dbt.type_string() }}) as _source_file,
            cast(null as bigint) as _source_line, cast(null as date) as day
     where 1 = 0)
    {%- endif -%}
{%- endmacro %}

{#- The relation a staging model selects from: the external source, or an empty typed relation
    when ingestion has not written any partition yet. source() is always called so that the
    lineage (and dagster's asset graph) is the same either way. -#}
{% macro raw_fact(dataset) -%}
    {%- set rel = source('raw', dataset) -%}
    {%- if raw_files_exist(dataset) -%}{{ rel }}{%- else -%}{{ empty_raw_fact(dataset) }}{%- endif -%}
{%- endmacro %}

{#- One row per partition (file_day) of a dataset with a fingerprint of its files: count, bytes,
    newest modification time. Ingestion rewrites a partition (beside, then rename) whenever its
    content changes, so a changed fingerprint means changed content. -#}
{% macro raw_partition_listing(dataset) -%}
    {{ return(adapter.dispatch('raw_partition_listing', 'cpa_warehouse')(dataset)) }}
{%- endmacro %}

{#- DuckDB: read_blob over the partition files (reads no Parquet content). -#}
{% macro default__raw_partition_listing(dataset) -%}
    {%- if raw_files_exist(dataset) -%}
    select '{{ dataset }}' as dataset,
           {{ partition_file_day('filename') }} as file_day,
           count(*) as files,
           cast(sum(size) as bigint) as bytes,
           max(cast(last_modified as timestamp)) as max_mtime
    from read_blob('{{ raw_glob(dataset) }}')
    group by 1, 2
    {%- else -%}
    select cast('{{ dataset }}' as {{ dbt.type_string() }}) as dataset, cast(null as date) as file_day,
           cast(0 as bigint) as files, cast(0 as bigint) as bytes,
           cast(null as timestamp) as max_mtime
    where 1 = 0
    {%- endif -%}
{%- endmacro %}

{#- Spark: the binaryFile source lists the files (path, length, modification time) without
    reading them; a partition whose file has no row is listed too (its days must be rebuilt).
    The folder exists: the on-run-start hook created the source table over it. -#}
{% macro spark__raw_partition_listing(dataset) -%}
    select '{{ dataset }}' as dataset,
           {{ partition_file_day('path') }} as file_day,
           count(*) as files,
           cast(sum(length) as bigint) as bytes,
           max(cast(modificationTime as timestamp)) as max_mtime
    from binaryFile.`{{ raw_dir_absolute() }}/{{ dataset }}`
    where path like '%/day=%/%.parquet'
    group by 1, 2
{%- endmacro %}

{#- `col` in the given dates (rendered as literals, so that both engines prune partitions);
    false for none. -#}
{% macro days_in(col, days) -%}
    {%- if days | length > 0 -%}
    {{ col }} in ({% for d in days %}cast('{{ d }}' as date){% if not loop.last %}, {% endif %}{% endfor %})
    {%- else -%} 1 = 0 {%- endif -%}
{%- endmacro %}

{#- Per partition (file_day) among `file_days` of a dataset: its rows (row_count) and the
    reporting days they touch (touched_days), for int_raw_partitions. `ts_col` is the staging
    column whose reporting day counts. -#}
{% macro partition_touched_days(dataset, ts_col, file_days) -%}
    {{ return(adapter.dispatch('partition_touched_days', 'cpa_warehouse')(dataset, ts_col, file_days)) }}
{%- endmacro %}

{#- Spark (and the fallback): scan the partitions' rows. -#}
{% macro default__partition_touched_days(dataset, ts_col, file_days) -%}
    select
        file_day,
        count(*)                                              as row_count,
        {{ sorted_distinct_array(reporting_day(ts_col)) }}     as touched_days
    from {{ ref('stg_' ~ dataset) }}
    where {{ days_in('file_day', file_days) }}
    group by file_day
{%- endmacro %}

{#- DuckDB: from the Parquet footers alone (row counts and the timestamp's min/max statistics
    per row group), without reading a row: every day from the reporting day of the earliest
    timestamp to that of the latest. That may be more days than the rows touch, never fewer
    (the reporting day grows with the timestamp), and rebuilding a day its partition did not
    touch gives the same rows. At 100M clicks the scan took 18 s of a full build.
    Scanned instead, for exact days: a partition whose timestamps span more than
    `footer_span_days` (a conversion file's status changes reach weeks back, touching only
    some of the days between: the range would make every incremental run rebuild them all),
    and one with a row group lacking statistics (a file some other writer produced). -#}
{% macro duckdb__partition_touched_days(dataset, ts_col, file_days, footer_span_days=2) -%}
    {%- if file_days | length == 0 -%}
        {{ return(default__partition_touched_days(dataset, ts_col, file_days)) }}
    {%- endif -%}
    {%- set footers = raw_footers(dataset) -%}
    {%- set wanted = file_days | map('string') | list -%}
    {%- set scanned = [] -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select cast(file_day as " ~ dbt.type_string() ~ ") from (" ~ footers ~ ") "
            ~ "where row_group_num_rows > 0 and " ~ days_in('file_day', file_days) ~ " "
            ~ "group by file_day having bool_or(min_ts is null or max_ts is null) "
            ~ "or max(max_ts) - min(min_ts) > interval " ~ footer_span_days ~ " day") -%}
        {%- do scanned.extend(found.columns[0].values() | select('in', wanted)) -%}
    {%- endif -%}
    {%- set from_footers = wanted | reject('in', scanned) | list -%}
    select
        file_day,
        cast(sum(row_group_num_rows) as bigint)                as row_count,
        case when sum(row_group_num_rows) > 0 then cast(
            range(cast({{ reporting_day('min(min_ts)') }} as timestamp),
                  cast({{ reporting_day('max(max_ts)') }} as timestamp) + interval 1 day,
                  interval 1 day) as date[]
        ) end                                                  as touched_days
    from ({{ footers }}) as footers
    where {{ days_in('file_day', from_footers) }}
    group by file_day
    {%- if scanned | length > 0 %}
    union all
    {{ default__partition_touched_days(dataset, ts_col, scanned) }}
    {%- endif %}
{%- endmacro %}

{#- DuckDB: one row per row group of a dataset's partitions, from the Parquet footers alone:
    file_day, row_group_num_rows and the min/max of the raw timestamp (null when the writer
    stored no statistics). try_cast: the filter on the column may run after the cast, over
    other columns' statistics. -#}
{% macro raw_footers(dataset) -%}
    {%- set raw_ts = {'clicks': 'ts', 'conversions': 'created_at'}[dataset] -%}
    select
        {{ partition_file_day('file_name') }} as file_day,
        row_group_num_rows,
        try_cast(stats_min_value as timestamp) as min_ts,
        try_cast(stats_max_value as timestamp) as max_ts
    from parquet_metadata('{{ raw_glob(dataset) }}')
    where path_in_schema = '{{ raw_ts }}'
{%- endmacro %}

{#- The click partitions that may hold a click delivered after its own UTC day (int_clicks_daily
    ranks only those): {'file_days': [...], 'earliest_click_day': the UTC day of their earliest
    click, none if a file has no statistics}, or none when the engine cannot tell without a
    scan (then every click is checked). -#}
{% macro late_click_partitions() %}
    {{ return(adapter.dispatch('late_click_partitions', 'cpa_warehouse')()) }}
{% endmacro %}

{% macro default__late_click_partitions() %}{{ return(none) }}{% endmacro %}

{#- DuckDB: a partition whose footers put a click outside its file's UTC day, or that has no
    statistics. -#}
{% macro duckdb__late_click_partitions() %}
    {%- set late = {'file_days': [], 'earliest_click_day': none} -%}
    {%- if execute and raw_files_exist('clicks') -%}
        {%- set found = run_query(
            "select cast(file_day as " ~ dbt.type_string() ~ "), cast(case when bool_and(min_ts is not null) "
            ~ "then min(cast(min_ts as date)) end as " ~ dbt.type_string() ~ ") from (" ~ raw_footers('clicks') ~ ") where row_group_num_rows > 0 "
            ~ "group by file_day having bool_or(min_ts is null or max_ts is null "
            ~ "or min_ts < cast(file_day as timestamp) or max_ts >= cast(file_day as timestamp) + interval 1 day) "
            ~ "order by 1") -%}
        {%- set earliest = found.columns[1].values() | list -%}
        {%- do late.file_days.extend(found.columns[0].values()) -%}
        {%- if earliest | length > 0 and none not in earliest -%}
            {%- do late.update({'earliest_click_day': modules.datetime.date.fromisoformat(earliest | min)}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(late) }}
{% endmacro %}

{#- The plan of an incremental fact model over `dataset`, computed at run time:
      full      - rebuild everything (first build, --full-refresh, or an empty target);
      days      - otherwise the reporting days to rebuild: every day that any version (old or
                  new) of a partition changed since the model's watermark touched;
      watermark - the newest partition observation the model will have consumed.
    `spread` maps other datasets the model also reads to a number of days: a changed partition
    of such a dataset also rebuilds the days it touches plus that many days after (conversions
    look their click up within 30 days, so a late click file restates those conversions).
    The model stores the watermark in `_observed_at`; a failed run leaves it unchanged, so the
    next run picks the same partitions up again (idempotent).
    `version` (optional) fingerprints another input that can change past days (the offer
    catalogue, offers_version): the model stores it in `_inputs_version`, and a different one
    makes the plan full. -#}
{% macro fact_plan(dataset, spread={}, version=none) %}
    {%- set partitions = ref('int_raw_partitions') -%}
    {%- set plan = {'full': true, 'days': [], 'watermark': none} -%}
    {%- set names = [dataset] + (spread.keys() | list) -%}
    {%- if execute -%}
        {#- timestamps travel as text: a driver may turn them into local-time datetimes -#}
        {%- set wm = run_query("select cast(max(observed_at) as " ~ dbt.type_string() ~ ") from " ~ partitions ~ " where dataset in ('" ~ (names | join("', '")) ~ "')") -%}
        {%- do plan.update({'watermark': wm.columns[0].values()[0]}) -%}
        {#- a table built before the model stored its watermark (an upgrade) is rebuilt whole -#}
        {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list
                         if is_incremental() else [] -%}
        {#- and so is one stored for other inputs than today's (version): one query reads both -#}
        {%- if '_observed_at' in stored and (version is none or '_inputs_version' in stored) -%}
            {%- set got = run_query("select cast(max(_observed_at) as " ~ dbt.type_string() ~ "), "
                ~ ("max(_inputs_version)" if version is not none else "null") ~ " from " ~ this).rows[0] -%}
            {%- set old = got[0] -%}
            {%- if old is not none and (version is none or got[1] == version) -%}
                {#- (dataset, day) for every reporting day touched by any version of a partition
                    observed since the watermark; the spread is applied here, not in SQL -#}
                {%- set touched_sql -%}
                    with changed as (
                        select distinct dataset, file_day from {{ partitions }}
                        where observed_at > cast('{{ old }}' as timestamp)
                    )
                    select distinct p.dataset, cast(d.day as {{ dbt.type_string() }}) as day
                    from {{ partitions }} as p
                    join changed on changed.dataset = p.dataset and changed.file_day = p.file_day
                    {{ unnest_as('p.touched_days', 'd', 'day') }}
                    where p.dataset in ('{{ names | join("', '") }}')
                {%- endset -%}
                {%- set days = [] -%}
                {%- set one = modules.datetime.timedelta(days=1) -%}
                {%- for row in run_query(touched_sql).rows -%}
                    {%- set day = modules.datetime.datetime.strptime((row[1] | string)[:10], '%Y-%m-%d').date() -%}
                    {%- set n = 0 if row[0] == dataset else spread[row[0]] -%}
                    {%- for k in range(n + 1) -%}
                        {%- if (day + one * k) not in days -%}{%- do days.append(day + one * k) -%}{%- endif -%}
                    {%- endfor -%}
                {%- endfor -%}
                {%- do plan.update({'full': false, 'days': days | sort}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(plan) }}
{% endmacro %}

{#- A conversion's click is looked up within this many days before created_at, so a changed
    click partition also restates the conversions created in that many days after it. The
    conversion facts (int_conversions, int_conversions_daily) share this plan. -#}
{% macro click_lookup_days() %}{{ return(30) }}{% endmacro %}

{% macro conversions_plan(version=none) %}
    {{ return(fact_plan('conversions', {'clicks': click_lookup_days()}, version)) }}
{% endmacro %}

{% macro conversions_plan_delete(day_col, version=none) -%}
    {{ plan_delete('conversions', day_col, {'clicks': click_lookup_days()}, version) }}
{%- endmacro %}

{#- A fingerprint of the offer catalogue as the daily facts read it (each snapshot row's
    identity and the attributes they take from it): a new snapshot, a corrected one or an offer
    listed for the first time can change the offer's state, or its fallback, on past days, so
    a model joining the state by day rebuilds whole when this changes (weekly, with the
    snapshots) and only the plan's days otherwise. The model needs
    `-- depends_on: {{ ref('stg_offers') }}`. -#}
{% macro offers_version() %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set row = run_query(
        "select count(*), cast(max(snapshot_date) as " ~ dbt.type_string() ~ "), cast(sum(hash("
        ~ "snapshot_date, offer_id, advertiser_id, category, payout_model, status, daily_cap, "
        ~ "source_file, source_line)) as " ~ dbt.type_string() ~ ") from " ~ ref('stg_offers')
    ).rows[0] -%}
    {{ return('offers:' ~ (row | join(':'))) }}
{% endmacro %}

{#- The literal a model stores as `_inputs_version` (see fact_plan). -#}
{% macro version_literal(version) -%}
    cast({% if version is none %}null{% else %}'{{ version }}'{% endif %} as {{ dbt.type_string() }})
{%- endmacro %}

{#- WHERE clause restricting a fact read to the plan's days: a cheap prefilter on the UTC
    timestamp (one day of margin either side covers any zone offset; lets Parquet skip row
    groups by their statistics) and the exact filter on the reporting day.
    With `file_day_col`, also a floor on the raw partition (the file's UTC day), so that both
    engines skip whole partitions older than the plan: ingestion quarantines any tracker row
    later than the end of its file's day (future_timestamp), so a row of reporting day D sits
    in a file of day D - 1 or later whatever the zone. -#}
{% macro plan_filter(plan, ts_col, day_col, file_day_col=none) -%}
    {%- if plan.full -%}
        1 = 1
    {%- elif plan.days | length == 0 -%}
        1 = 0
    {%- else -%}
        {%- set lo = plan.days | min -%}
        {%- set hi = plan.days | max -%}
        {%- set one = modules.datetime.timedelta(days=1) -%}
        {%- if file_day_col is not none %}
        {{ file_day_col }} >= cast('{{ lo - one }}' as date) and
        {%- endif %}
        {{ ts_col }} >= cast('{{ lo - one }}' as timestamp)
        and {{ ts_col }} < cast('{{ hi + one + one }}' as timestamp)
        and {{ plan_day_filter(plan, day_col) }}
    {%- endif -%}
{%- endmacro %}

{#- WHERE clause restricting a relation that already has the reporting day (an incremental
    fact downstream of another) to the plan's days. -#}
{% macro plan_day_filter(plan, day_col) -%}
    {%- if plan.full -%}
        1 = 1
    {%- else -%}
        {{ days_in(day_col, plan.days) }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of an incremental fact: remove the days the plan rebuilds (all of them on a full
    plan), so a day whose rows all disappeared is emptied too.
    DuckDB: a delete inside the model's transaction, before the append.
    Spark: drop those day partitions before the insert_overwrite (which alone would leave a day
    with no new row untouched). Parquet tables have no transactions: a run failing in between
    leaves the days missing until the next run, which rebuilds them (the watermark did not
    advance). -#}
{% macro plan_delete(dataset, day_col, spread={}, version=none) -%}
    {%- if execute and is_incremental() -%}
        {%- set plan = fact_plan(dataset, spread, version) -%}
        {%- if plan.full -%}
            {{ remove_days(this, day_col, none) }}
        {%- elif plan.days | length > 0 -%}
            {{ remove_days(this, day_col, plan.days) }}
        {%- else -%}
            select 1
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The statement that empties `days` of a day-partitioned relation (every day when none). -#}
{% macro remove_days(relation, day_col, days) -%}
    {{ return(adapter.dispatch('remove_days', 'cpa_warehouse')(relation, day_col, days)) }}
{%- endmacro %}

{% macro default__remove_days(relation, day_col, days) -%}
    {%- if days is none -%}
        delete from {{ relation }}
    {%- else -%}
        delete from {{ relation }} where {{ day_col }} in ({% for d in days %}cast('{{ d }}' as date){% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{% macro spark__remove_days(relation, day_col, days) -%}
    {%- if days is none -%}
        truncate table {{ relation }}
    {%- else -%}
        alter table {{ relation }} drop if exists
        {% for d in days %}partition ({{ day_col }} = '{{ d }}'){% if not loop.last %}, {% endif %}{% endfor %}
    {%- endif -%}
{%- endmacro %}

{% macro watermark_literal(plan) -%}
    {%- if plan.watermark is none -%}cast(null as timestamp){%- else -%}cast('{{ plan.watermark }}' as timestamp){%- endif -%}
{%- endmacro %}
