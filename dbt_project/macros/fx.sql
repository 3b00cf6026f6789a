{#- Money to RUB at the rate of the amount's reporting day (sources.md reading 2): the latest
    rate on or before that day; RUB is 1 and has no rows. Ingestion quarantines amounts with no
    rate (no_fx_rate), so a null here means the raw layer broke that promise: tests catch it.

    fx_asof_join(currency, day) renders the join clause that adds `fx.rub_per_unit`
    (stg_fx_rates is unique by currency and rate_date). -#}
{% macro fx_asof_join(currency, day) -%}
    {{ return(adapter.dispatch('fx_asof_join', 'cpa_warehouse')(currency, day)) }}
{%- endmacro %}

{#- DuckDB: an ASOF join. -#}
{% macro default__fx_asof_join(currency, day) -%}
    asof left join {{ ref('stg_fx_rates') }} as fx
        on fx.currency = {{ currency }} and fx.rate_date <= {{ day }}
{%- endmacro %}

{#- Spark has no ASOF join (and a range join would compare every amount with every rate of its
    currency): each rate is spread over the days it is the latest one for (up to the next rate;
    the newest rate of a currency up to ten years after today or its own date), and the amount
    joins its day by equality. A few thousand rows per currency, broadcast to the join. -#}
{% macro spark__fx_asof_join(currency, day) -%}
    left join (
        select currency, rate_date, rub_per_unit, explode(sequence(rate_date, valid_to)) as rate_day
        from (
            select
                currency,
                rate_date,
                rub_per_unit,
                coalesce(
                    date_sub(lead(rate_date) over (partition by currency order by rate_date), 1),
                    date_add(greatest(rate_date, current_date()), 3660)
                ) as valid_to
            from {{ ref('stg_fx_rates') }}
        ) as rates
    ) as fx
        on fx.currency = {{ currency }} and fx.rate_day = {{ day }}
{%- endmacro %}

{% macro to_rub(amount, currency) -%}
    ({{ amount }} * case when {{ currency }} = 'RUB' then 1.0 else fx.rub_per_unit end)
{%- endmacro %}
