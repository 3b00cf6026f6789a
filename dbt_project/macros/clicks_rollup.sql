{#- The body of an int_clicks_by_<dimension>_daily model: int_clicks_daily summed per reporting
    day and one dimension, incremental on the clicks plan (fact_plan). A run rebuilds only the
    days whose click partitions changed since this model's own watermark, which are the days
    int_clicks_daily has just rebuilt (or more, if this model missed a run), so a new day costs
    that day. The marts that roll clicks up by offer, publisher or channel read these instead of
    re-aggregating the whole click grain (tens of millions of rows at 100M clicks) every run.
    The model file sets the config: fact_config('day', plan_delete('clicks', 'day')). -#}
{% macro clicks_rollup(dimension) -%}
{%- set plan = fact_plan('clicks') -%}
select
    day,
    {{ dimension }},
    cast(sum(clicks) as bigint)       as clicks,
    cast(sum(clean_clicks) as bigint) as clean_clicks,
    cast(sum(bot_clicks) as bigint)   as bot_clicks,
    {{ watermark_literal(plan) }}     as _observed_at
from {{ ref('int_clicks_daily') }}
where {{ plan_day_filter(plan, 'day') }}
group by day, {{ dimension }}
{%- endmacro %}
