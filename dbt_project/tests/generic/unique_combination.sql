{#- No two rows share the values of `columns`.
    `days_of_latest_build` (incremental models with `day` and `_observed_at`): only the days the
    latest build wrote are grouped, their rows from earlier builds included, so a day that was
    not cleared before its rows were appended still fails. Other days are as an earlier run
    tested them; after a full build every day is checked. At 100M clicks this makes the daily
    check of int_clicks_daily's grain cost the day, not 78M rows. -#}
{% test unique_combination(model, columns, days_of_latest_build=false) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
{%- if days_of_latest_build %}
where day in (
    select distinct day from {{ model }}
    where _observed_at = (select max(_observed_at) from {{ model }})
)
{%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
