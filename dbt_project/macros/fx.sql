{#- Money to RUB at the rate of the amount's reporting day (sources.md reading 2): the latest
    rate on or before that day; RUB is 1 and has no rows. Ingestion quarantines amounts with no
    rate (no_fx_rate), so a null here means the raw layer broke that promise: tests catch it.

    fx_asof_join(left, currency, day) renders the join clause that adds `fx.rub_per_unit`. -#}
{% macro fx_asof_join(currency, day) -%}
    {{ return(adapter.dispatch('fx_asof_join', 'cpa_warehouse')(currency, day)) }}
{%- endmacro %}

{% macro default__fx_asof_join(currency, day) -%}
    asof left join {{ ref('stg_fx_rates') }} as fx
        on fx.currency = {{ currency }} and fx.rate_date <= {{ day }}
{%- endmacro %}

{% macro to_rub(amount, currency) -%}
    ({{ amount }} * case when {{ currency }} = 'RUB' then 1.0 else fx.rub_per_unit end)
{%- endmacro %}
