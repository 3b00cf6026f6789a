-- Clicks and clean clicks agree between the click fact, the offer-day, publisher-day, source-day
-- and category-day marts.
with t as (
    select
        (select sum(clicks) from {{ ref('int_clicks_daily') }})       as fact_clicks,
        (select sum(clean_clicks) from {{ ref('int_clicks_daily') }}) as fact_clean,
        (select sum(clicks) from {{ ref('fct_offer_daily') }})        as offer_clicks,
        (select sum(clean_clicks) from {{ ref('fct_offer_daily') }})  as offer_clean,
        (select sum(clicks) from {{ ref('fct_publisher_daily') }})    as publisher_clicks,
        (select sum(clicks) from {{ ref('fct_source_daily') }})       as source_clicks,
        (select sum(clean_clicks) from {{ ref('fct_category_daily') }}) as category_clean
)
select * from t
where fact_clicks <> offer_clicks or fact_clean <> offer_clean
   or fact_clicks <> publisher_clicks or fact_clicks <> source_clicks
   or fact_clean <> category_clean
