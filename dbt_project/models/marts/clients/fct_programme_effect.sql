-- Programme effect per CRM programme (metrics.md and its fixed reading): average monthly margin
-- per advertiser before (complete months before the month of started_on) and after (complete
-- months from that month to ended_on, or the last complete month), per group (control receives
-- the programme, reference does not); months with zero margin count. The difference of
-- differences is the monthly margin the programme adds per client; clients_per_manager =
-- manager_monthly_cost_rub / that gain: how many programme clients pay for one manager.
with members as (select * from {{ ref('int_programs') }}),

months as (
    select * from {{ ref('int_advertiser_monthly') }} where is_month_complete
),

all_months as (select distinct month_start from months),

member_months as (
    -- every complete month of the data for every member, margin 0 when it had none
    select
        m.program, m.group_name, m.advertiser_id, m.started_on, m.ended_on,
        am.month_start,
        coalesce(mm.margin, 0) as margin,
        case
            when am.month_start < {{ month_start('m.started_on') }} then 'before'
            when m.ended_on is null or am.month_start <= {{ month_start('m.ended_on') }} then 'after'
        end as phase
    from members as m
    cross join all_months as am
    left join months as mm
        on mm.advertiser_id = m.advertiser_id and mm.month_start = am.month_start
),

per_advertiser as (
    select program, group_name, advertiser_id, phase, avg(margin) as avg_monthly_margin,
           count(*) as months
    from member_months
    where phase is not null
    group by program, group_name, advertiser_id, phase
),

per_group as (
    select
        program,
        group_name,
        count(distinct advertiser_id)                                   as advertisers,
        avg(avg_monthly_margin) filter (where phase = 'before')         as margin_before,
        avg(avg_monthly_margin) filter (where phase = 'after')          as margin_after,
        max(months) filter (where phase = 'before')                     as months_before,
        max(months) filter (where phase = 'after')                      as months_after
    from per_advertiser
    group by program, group_name
),

programmes as (
    select program, min(started_on) as started_on, max(ended_on) as ended_on
    from members group by program
)

select
    p.program,
    p.started_on,
    p.ended_on,
    c.advertisers                         as control_advertisers,
    r.advertisers                         as reference_advertisers,
    c.months_before,
    c.months_after,
    c.margin_before                       as control_margin_before,
    c.margin_after                        as control_margin_after,
    r.margin_before                       as reference_margin_before,
    r.margin_after                        as reference_margin_after,
    c.margin_after - c.margin_before      as control_change,
    r.margin_after - r.margin_before      as reference_change,
    (c.margin_after - c.margin_before) - (r.margin_after - r.margin_before) as diff_in_diff,
    {{ var('manager_monthly_cost_rub') }} as manager_monthly_cost_rub,
    case when (c.margin_after - c.margin_before) - (r.margin_after - r.margin_before) > 0
         then {{ var('manager_monthly_cost_rub') }}
              / ((c.margin_after - c.margin_before) - (r.margin_after - r.margin_before))
    end                                   as clients_per_manager
from programmes as p
left join per_group as c on c.program = p.program and c.group_name = 'control'
left join per_group as r on r.program = p.program and r.group_name = 'reference'
