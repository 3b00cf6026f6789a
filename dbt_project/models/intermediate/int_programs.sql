-- Programme membership as the newest programmes snapshot says.
with latest as (select max(snapshot_date) as snapshot_date from {{ ref('stg_programs') }}),

ranked as (
    select p.advertiser_id, p.program, p.group_name, p.started_on, p.ended_on,
           row_number() over (
               partition by p.program, p.advertiser_id order by p.source_file desc, p.source_line desc
           ) as row_number_in_program
    from {{ ref('stg_programs') }} as p
    join latest on latest.snapshot_date = p.snapshot_date
)

select advertiser_id, program, group_name, started_on, ended_on
from ranked
where row_number_in_program = 1
