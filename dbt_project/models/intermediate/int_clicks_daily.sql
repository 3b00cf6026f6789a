{#- Clicks per reporting day x offer x publisher x traffic source, deduplicated by click_id
    within the day (a retried click carries the same ts, hence the same day; ingestion drops
    repeats in neighbouring files, this catches the ones delivered days later).

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

{#- The first delivery of a (day, click_id) wins: earliest file, then earliest line (a file day
    holds exactly one file, clicks_<day>.csv.gz, so the file day orders files).

    Only clicks delivered after their reporting day ("late") can be repeats, so only they are
    ranked; a window over every click cost more than half of this model at 100M (74 s):
      - ingestion keeps no two rows of one click_id in files of the same or adjacent days (a
        repeat of a kept row, loaded or held, is dropped: sources.md reading 4);
      - it quarantines a click later than the end of its file's UTC day, and a reporting day
        starts less than a day before its UTC day, so a click's file day >= its day - 1.
    So of two deliveries of one (day, click_id), the later file is at least day + 1: at most one
    delivery is on time (file day <= day), and when there is one, it is the earliest. -#}
on_time as (
    select * from clicks where file_day <= day
),

late_first as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by day, click_id order by file_day, source_line
            ) as delivery
        from clicks
        where file_day > day
    ) as deliveries
    where delivery = 1
),

late_repeats as (
    {#- late deliveries of a click that was also delivered on time -#}
    select late_first.day, late_first.click_id
    from late_first
    join on_time
        on on_time.day = late_first.day
       and on_time.click_id = late_first.click_id
),

deduplicated as (
    select day, offer_id, publisher_id, traffic_source, is_bot, is_unique
    from on_time
    union all
    select day, offer_id, publisher_id, traffic_source, is_bot, is_unique
    from late_first
    where not exists (
        select 1 from late_repeats
        where late_repeats.day = late_first.day and late_repeats.click_id = late_first.click_id
    )
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
