{#- The bookkeeping behind the incremental facts: one row per observed version of a raw Parquet
    partition (dataset x file_day), with the reporting days its rows touch. A run appends a row
    only for partitions that are new or whose files changed (count, bytes, modification time).
    The fact models rebuild the days that any version of a changed partition touches, so a
    corrected file that moved or removed rows is applied too. -#}
{{ config(materialized='incremental', incremental_strategy='append') }}

{%- set datasets = {'clicks': 'clicked_at', 'conversions': 'created_at'} -%}
{%- set changed = {'clicks': [], 'conversions': []} -%}
{%- if execute -%}
    {%- for ds in datasets -%}
        {%- set listing_sql -%}
            with listing as ({{ raw_partition_listing(ds) }})
            {%- if is_incremental() %},
            latest as (
                select * from (
                    select *, row_number() over (partition by file_day order by observed_at desc) as recency
                    from {{ this }} where dataset = '{{ ds }}'
                ) as versions
                where recency = 1
            )
            select listing.file_day from listing
            left join latest on latest.file_day = listing.file_day
            where latest.file_day is null
               or latest.files <> listing.files
               or latest.bytes <> listing.bytes
               or latest.max_mtime <> listing.max_mtime
            {%- else %}
            select file_day from listing
            {%- endif %}
            order by 1
        {%- endset -%}
        {%- do changed[ds].extend(run_query(listing_sql).columns[0].values()) -%}
    {%- endfor -%}
{%- endif -%}

{%- for ds, ts_col in datasets.items() %}
{%- if not loop.first %}
union all
{% endif %}
select
    listing.dataset,
    listing.file_day,
    listing.files,
    listing.bytes,
    listing.max_mtime,
    coalesce(touched.row_count, 0)                            as row_count,
    coalesce(touched.touched_days, {{ empty_date_array() }})   as touched_days,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as observed_at
from ({{ raw_partition_listing(ds) }}) as listing
left join (
    {{ partition_touched_days(ds, ts_col, changed[ds]) }}
) as touched on touched.file_day = listing.file_day
where {{ days_in('listing.file_day', changed[ds]) }}
{%- endfor %}
