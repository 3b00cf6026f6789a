-- New publishers per registration month, category and channel. Category: the category of the
-- offers the publisher sent most clean clicks to ('none' before any traffic); channel: the
-- traffic source of most of its clean clicks, else the first declared traffic type.
with clicks as (
    select c.publisher_id, o.category, c.traffic_source, sum(c.clean_clicks) as clean_clicks
    from {{ ref('int_clicks_daily') }} as c
    left join {{ ref('int_offers_current') }} as o on o.offer_id = c.offer_id
    group by c.publisher_id, o.category, c.traffic_source
),

{#- the category and the channel that got most of each publisher's clean clicks (ties: first by name) #}
{%- for cte, col in [('main_category', 'category'), ('main_channel', 'traffic_source')] %}
{{ cte }} as (
    select publisher_id, {{ col }} from (
        select publisher_id, {{ col }},
               row_number() over (
                   partition by publisher_id order by n desc nulls last, {{ col }} asc nulls last
               ) as rank_in_publisher
        from (
            select publisher_id, {{ col }}, sum(clean_clicks) as n
            from clicks group by publisher_id, {{ col }}
        ) as t
    ) as ranked
    where rank_in_publisher = 1
){% if not loop.last %},{% endif %}
{% endfor %}
select
    {{ month_start('p.registered_day') }}                    as registration_month,
    coalesce(mc.category, 'none')                            as category,
    coalesce(ch.traffic_source, p.main_channel, 'unknown')   as channel,
    count(*)                                                 as new_publishers,
    count(*) filter (where mc.publisher_id is not null)      as with_traffic
from {{ ref('dim_publishers') }} as p
left join main_category as mc on mc.publisher_id = p.publisher_id
left join main_channel as ch on ch.publisher_id = p.publisher_id
group by
    {{ month_start('p.registered_day') }},
    coalesce(mc.category, 'none'),
    coalesce(ch.traffic_source, p.main_channel, 'unknown')
