-- Every breakdown of a margin mart adds up to the same total margin per period.
{% for m in ['fct_margin_daily', 'fct_margin_weekly', 'fct_margin_monthly'] %}
select '{{ m }}' as mart, period_start, max(total) - min(total) as spread
from (
    select period_start, dimension, sum(margin) as total
    from {{ ref(m) }} group by period_start, dimension
) as t
group by period_start
having max(total) - min(total) > 0.01 or count(*) <> 5
{% if not loop.last %}union all{% endif %}
{% endfor %}
