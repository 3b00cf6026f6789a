{#- Every conversion in its current state: the status event with the greatest updated_at; ties
    go to the later file, then the later line (sources.md reading 3). Counted on the reporting
    day of created_at (created_day), money in RUB at that day's rate. traffic_source is the
    channel of its click (the click with its click_id in the 30 days up to created_at; 'offline'
    without a click_id, 'unknown' when no such click was delivered).

    Incremental by created_day: a run rebuilds the created days touched by the conversion
    partitions that changed (new days, late status changes, corrected files), so past days are
    restated to the current truth (metrics.md, "Restatement"), plus the 30 days after any
    changed click partition (their conversions' click lookup may change). -#}
{#- Built after int_clicks_daily, never beside it: the two largest queries of the build (a
    100M-click window; a 13M-event window plus the click lookup) share one DuckDB memory budget,
    and on two cores, at 100M clicks, side by side they spilled and took 165 s where one after
    the other takes 35 s + 70 s (benchmarks/notes.md). An ordering only: nothing is read from it. -#}
-- depends_on: {{ ref('int_clicks_daily') }}
{%- set plan = conversions_plan() -%}
{%- set lookup_days = click_lookup_days() -%}
{{ config(fact_config('created_day', "{{ conversions_plan_delete('created_day') }}")) }}

with events as (
    select *
    from {{ ref('stg_conversions') }}
    where {{ plan_filter(plan, 'created_at', 'created_day', 'file_day') }}
),

ranked as (
    select
        *,
        count(*) over (partition by conversion_id)  as status_events,
        min(updated_at) over (partition by conversion_id) as first_seen_at,
        row_number() over (
            partition by conversion_id
            order by updated_at desc, file_day desc, source_file desc, source_line desc
        ) as recency
    from events
),

current_state as (
    select * from ranked where recency = 1
),

clicks as (
    select click_id, clicked_at, traffic_source
    from {{ ref('stg_clicks') }}
    {%- if not plan.full %}
    where {% if plan.days | length == 0 %}1 = 0{% else -%}
        {#- a click's file is of its UTC day or later (see plan_filter): whole older partitions are skipped #}
        file_day >= cast('{{ (plan.days | min) - modules.datetime.timedelta(days=lookup_days + 3) }}' as date)
        and clicked_at >= cast('{{ (plan.days | min) - modules.datetime.timedelta(days=lookup_days + 2) }}' as timestamp)
        and clicked_at < cast('{{ (plan.days | max) + modules.datetime.timedelta(days=2) }}' as timestamp)
    {%- endif %}
    {%- endif %}
),

click_sources as (
    select conversion_id, traffic_source
    from (
        select
            current_state.conversion_id,
            clicks.traffic_source,
            row_number() over (
                partition by current_state.conversion_id
                order by clicks.clicked_at desc, clicks.traffic_source
            ) as nearest
        from current_state
        join clicks
            on clicks.click_id = current_state.click_id
           and clicks.clicked_at <= current_state.created_at
           and clicks.clicked_at >= current_state.created_at - interval {{ lookup_days }} day
    ) as candidates
    where nearest = 1
)

select
    c.conversion_id,
    c.click_id,
    c.offer_id,
    c.advertiser_id,
    c.publisher_id,
    case
        when c.click_id is null then 'offline'
        else coalesce(click_sources.traffic_source, 'unknown')
    end                               as traffic_source,
    c.goal,
    c.status,
    c.created_at,
    c.updated_at,
    c.created_day,
    c.first_seen_at,
    c.status_events,
    c.currency,
    c.revenue,
    c.payout,
    c.revenue_rub,
    c.payout_rub,
    c.file_day                        as current_file_day,
    {{ watermark_literal(plan) }}     as _observed_at
from current_state as c
left join click_sources on click_sources.conversion_id = c.conversion_id
