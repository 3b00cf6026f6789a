-- Σ offer-day revenue = Σ advertiser-day revenue = Σ category-day revenue = Σ advertiser-month
-- revenue = Σ approved conversion revenue (returns a row when any differs by more than 0.01 RUB).
with totals as (
    select
        (select coalesce(sum(revenue_rub), 0) from {{ ref('int_conversions') }} where status = 'approved') as conversions,
        (select coalesce(sum(revenue), 0) from {{ ref('fct_offer_daily') }})        as offer_day,
        (select coalesce(sum(revenue), 0) from {{ ref('fct_advertiser_daily') }})   as advertiser_day,
        (select coalesce(sum(revenue), 0) from {{ ref('fct_category_daily') }})     as category_day,
        (select coalesce(sum(revenue), 0) from {{ ref('int_advertiser_monthly') }}) as advertiser_month,
        (select coalesce(sum(revenue), 0) from {{ ref('fct_margin_monthly') }} where dimension = 'offer') as margin_month
)
select * from totals
where abs(offer_day - conversions) > 0.01
   or abs(advertiser_day - conversions) > 0.01
   or abs(category_day - conversions) > 0.01
   or abs(advertiser_month - conversions) > 0.01
   or abs(margin_month - conversions) > 0.01
