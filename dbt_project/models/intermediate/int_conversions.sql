{#- Every conversion in its current state: the status event with the greatest updated_at; ties
    go to the later file, then the later line (sources.md reading 3). Counted on the reporting
    day of created_at (created_day), money in RUB at that day's rate.

    Incremental by created_day: a run rebuilds the created days touched by the conversion
    partitions that changed (new days, late status changes, corrected files), so past days are
    restated to the current truth (metrics.md, "Restatement"). -#}
{%- set plan = fact_plan('conversions') -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ plan_delete('conversions', 'created_day') }}"
) }}

with events as (
    select *
    from {{ ref('stg_conversions') }}
    where {{ plan_filter(plan, 'created_at', 'created_day') }}
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
)

select
    conversion_id,
    click_id,
    offer_id,
    advertiser_id,
    publisher_id,
    goal,
    status,
    created_at,
    updated_at,
    created_day,
    first_seen_at,
    status_events,
    currency,
    revenue,
    payout,
    revenue_rub,
    payout_rub,
    file_day                          as current_file_day,
    {{ watermark_literal(plan) }}     as _observed_at
from ranked
where recency = 1
