-- The monthly revenue bridge closes: start + new + reactivated + expansion - contraction -
-- churned = end, and each month starts where the previous one ended.
with b as (
    select *, lag(end_revenue) over (order by month_start) as prev_end
    from {{ ref('fct_revenue_bridge') }}
)
select * from b
where abs(start_revenue + new_revenue + reactivated_revenue + expansion_revenue
          - contraction_revenue - churned_revenue - end_revenue) > 0.01
   or (prev_end is not null and abs(prev_end - start_revenue) > 0.01)
