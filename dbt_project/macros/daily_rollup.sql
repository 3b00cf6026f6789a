{#
  Traffic and conversions of one grain (publisher, traffic source, ...) per reporting day:
  clicks from that grain's incremental rollup of int_clicks_daily (int_clicks_by_*_daily) and
  conversions from int_conversions_daily, rolled up to `dimension` and joined on day x dimension (a full outer join: a day can have conversions of
  earlier clicks and no clicks of its own), with the ratios of docs/metrics.md.
#}
{% macro daily_rollup(dimension) %}
{%- set clicks_rollup_model = {'publisher_id': 'int_clicks_by_publisher_daily',
                                'traffic_source': 'int_clicks_by_source_daily'}[dimension] %}
with clicks as (
    select day, {{ dimension }}, clicks, clean_clicks, bot_clicks
    from {{ ref(clicks_rollup_model) }}
),

conversions as (
    select day, {{ dimension }},
           {{ conversion_sums(with_hold=false) }}
    from {{ ref('int_conversions_daily') }}
    group by day, {{ dimension }}
),

joined as (
    select
        coalesce(clicks.day, conversions.day) as day,
        coalesce(clicks.{{ dimension }}, conversions.{{ dimension }}) as {{ dimension }},
        coalesce(clicks.clicks, 0) as clicks, coalesce(clicks.clean_clicks, 0) as clean_clicks,
        coalesce(clicks.bot_clicks, 0) as bot_clicks,
        {{ conversion_sums_or_zero('conversions', with_hold=false) }}
    from clicks
    full outer join conversions
        on conversions.day = clicks.day and conversions.{{ dimension }} = clicks.{{ dimension }}
)

select
    *,
    revenue - payout                                          as margin,
    {{ safe_div('conversions', 'clean_clicks') }}             as cr,
    {{ safe_div('approved', 'approved + rejected + trash') }} as approval_rate,
    {{ safe_div('payout', 'clean_clicks') }}                  as epc
from joined
{% endmacro %}
