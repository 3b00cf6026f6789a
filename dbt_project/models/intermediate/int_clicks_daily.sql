{#- Clicks per reporting day x offer x publisher x traffic source, deduplicated by click_id
    within the day (a retried click carries the same ts, hence the same day; ingestion already
    drops cross-file repeats, this is the safety net).

    Incremental: a run rebuilds only the reporting days touched by raw partitions that changed
    since the last run (fact_plan), reading them with a timestamp prefilter; a new day costs in
    proportion to that day. A --full-refresh gives the same rows (tests/test_dbt_incremental). -#}
{%- set plan = fact_plan('clicks') -%}
{{ config(fact_config('day', "{{ plan_delete('clicks', 'day') }}")) }}

with clicks as (
    {#- only the columns the count needs: the dedup window materialises every column it carries
        (at 100M clicks, the hashed IP and user agent alone are ~13 GB) -#}
    select
        click_id,
        offer_id,
        publisher_id,
        traffic_source,
        is_bot,
        is_unique,
        file_day,
        source_line,
        {{ reporting_day('clicked_at') }} as day
    from {{ ref('stg_clicks') }}
    where {{ plan_filter(plan, 'clicked_at', reporting_day('clicked_at'), 'file_day') }}
),

deduplicated as (
    {#- the first delivery wins: earliest file, then earliest line (a file day holds exactly one
        file, clicks_<day>.csv.gz, so the file day orders files) -#}
    select *
    from (
        select
            *,
            row_number() over (
                partition by day, click_id order by file_day, source_line
            ) as delivery
        from clicks
    ) as deliveries
    where delivery = 1
)

select
    day,
    offer_id,
    publisher_id,
    traffic_source,
    count(*)                                       as clicks,
    count(*) filter (where not is_bot)             as clean_clicks,
    count(*) filter (where is_bot)                 as bot_clicks,
    count(*) filter (where is_unique and not is_bot) as unique_clean_clicks,
    {{ watermark_literal(plan) }}                  as _observed_at
from deduplicated
group by day, offer_id, publisher_id, traffic_source
