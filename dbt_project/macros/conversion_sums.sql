{#
  The conversion totals of int_conversions_daily rolled up to a coarser grain: counts by
  current status, and money (approved revenue/payout and the pending "hold" amounts).
  `with_hold=false` leaves out the hold amounts for marts that do not show them.
#}
{% macro conversion_sums(with_hold=true) %}
    cast(sum(conversions) as bigint) as conversions, cast(sum(approved) as bigint) as approved,
    cast(sum(pending) as bigint) as pending, cast(sum(rejected) as bigint) as rejected,
    cast(sum(trash) as bigint) as trash, sum(revenue) as revenue, sum(payout) as payout
    {%- if with_hold %},
    sum(hold_revenue) as hold_revenue, sum(hold_payout) as hold_payout
    {%- endif %}
{% endmacro %}

{#
  The same columns read from `relation` after an outer join, with 0 where that side had no
  row (a day with clicks and no conversions, or the reverse). Same order as conversion_sums.
#}
{% macro conversion_sums_or_zero(relation, with_hold=true) %}
    {%- set columns = ['conversions', 'approved', 'pending', 'rejected', 'trash', 'revenue'] -%}
    {%- if with_hold %}{% set columns = columns + ['hold_revenue', 'payout', 'hold_payout'] -%}
    {%- else %}{% set columns = columns + ['payout'] %}{% endif -%}
    {%- for column in columns %}
        coalesce({{ relation }}.{{ column }}, 0) as {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
{% endmacro %}
